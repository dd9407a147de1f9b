//! CPU kernels for the layers the networks spend their time in, used on the flex backend
//! when no gradient is recorded (generation, evaluation); training and the GPU keep burn's
//! own operations. Each is checked in its tests against burn's operation for the same layer
//! or the layer computed directly, and, through the networks, against PyTorch by the parity
//! fixtures.

mod activation;
mod attention;
mod conv1x1;
mod conv3x3;
mod group_norm;
mod layer_norm;
mod upsample;

use std::sync::OnceLock;

use burn::tensor::{DType, Device, Tensor, TensorData};
use burn_flex::{Flex, FlexTensor};

pub use activation::{erf, exp, geglu, silu_in_place};
pub use attention::{Heads, attention};
pub use conv1x1::conv1x1;
pub use conv3x3::conv3x3;
pub use group_norm::group_norm;
pub use layer_norm::layer_norm;
pub use upsample::upsample_nearest2x;

/// Whether tensors on `device` of `dtype` go through these kernels: f32 on the flex CPU
/// backend, outside autodiff, unless `AVSYNC_KERNELS=burn` asks for burn's operations
/// throughout (to compare the two, or to rule the kernels out when chasing a difference).
pub fn applies(device: &Device, dtype: DType) -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    let enabled =
        *ENABLED.get_or_init(|| std::env::var("AVSYNC_KERNELS").map_or(true, |v| v != "burn"));
    enabled && dtype == DType::F32 && !device.is_autodiff() && *device == Device::flex()
}

/// The values of `x`, owned (moved out without a copy when `x` holds the only reference to
/// them, as an activation does).
pub(crate) fn take_values<const D: usize>(x: Tensor<D>) -> (Vec<f32>, [usize; D]) {
    let dims = x.dims();
    let data: TensorData = x.into_data();
    let values = data
        .try_into_vec::<f32>()
        .expect("the kernels are used on f32 tensors only");
    (values, dims)
}

/// Run `f` on the values of `x` where they lie (a parameter is read without a copy).
pub(crate) fn with_values<const D: usize, R>(x: Tensor<D>, f: impl FnOnce(&[f32]) -> R) -> R {
    let n = x.shape().num_elements();
    let flex = x
        .try_into_primitive::<Flex>()
        .expect("the kernels are used on flex tensors only");
    let flex = if flex.layout().is_contiguous() && flex.layout().start_offset() == 0 {
        flex
    } else {
        flex.to_contiguous()
    };
    f(&flex.storage::<f32>()[..n])
}

/// The flex tensor behind `x`, as it lies (strided views stay views), unless a stride is
/// negative (a flip), which is copied out.
pub(crate) fn flex_of<const D: usize>(x: Tensor<D>) -> FlexTensor {
    let flex = x
        .try_into_primitive::<Flex>()
        .expect("the kernels are used on flex tensors only");
    if flex.layout().has_positive_strides() {
        flex
    } else {
        flex.to_contiguous()
    }
}

/// A `[B, heads, L, d]` flex tensor as the attention kernel reads it.
pub(crate) fn heads_of(x: &FlexTensor) -> Heads<'_> {
    let layout = x.layout();
    let shape = layout.shape();
    let stride = |i: usize| usize::try_from(layout.strides()[i]).expect("non-negative strides");
    Heads {
        values: x.storage::<f32>(),
        dims: [shape[0], shape[1], shape[2], shape[3]],
        strides: [stride(0), stride(1), stride(2), stride(3)],
        offset: layout.start_offset(),
    }
}

/// A tensor on `device` holding `values` of shape `dims`.
pub(crate) fn tensor_of<const D: usize>(
    values: Vec<f32>,
    dims: [usize; D],
    device: &Device,
) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values, dims), device)
}

/// A convolution kernel: input, its `[B, C_in, H, W]`, weight, bias; the output.
pub type ConvKernel = fn(&[f32], [usize; 4], &[f32], Option<&[f32]>) -> Vec<f32>;

/// A raw pointer shared by parallel tasks that write disjoint parts of one buffer.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);

// SAFETY: every task writes a range no other task touches, and the buffer outlives the
// parallel loop that uses it.
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

/// `dst (+)= lhs x rhs` on this thread, for `m x k` by `k x n` row-major operands given by
/// their first value and row stride; `accumulate` adds to `dst` instead of overwriting it.
///
/// # Safety
/// Each operand's rows must lie inside its buffer, and no one else may touch `dst`'s.
unsafe fn product(
    [m, n, k]: [usize; 3],
    (dst, dst_rs): (*mut f32, usize),
    accumulate: bool,
    (lhs, lhs_rs): (*const f32, usize),
    (rhs, rhs_rs): (*const f32, usize),
) {
    // SAFETY: the caller's promise.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_rs as isize,
            accumulate,
            lhs,
            1,
            lhs_rs as isize,
            rhs,
            1,
            rhs_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Add `bias[o]` to the `len` values at `first + o * plane`, for every channel `o` of one
/// tile of a convolution's output.
///
/// # Safety
/// Those values must be initialised, inside one buffer, and written by no one else meanwhile.
unsafe fn add_bias(first: *mut f32, plane: usize, len: usize, bias: &[f32]) {
    for (o, add) in bias.iter().enumerate() {
        // SAFETY: the caller's promise, for channel `o`'s values.
        let row = unsafe { std::slice::from_raw_parts_mut(first.add(o * plane), len) };
        row.iter_mut().for_each(|v| *v += add);
    }
}

impl SharedOut {
    /// The pointer (a method, so closures capture the shareable wrapper, not the field).
    fn at(self, offset: usize) -> *mut f32 {
        // SAFETY: callers stay inside the buffer the pointer was taken from.
        unsafe { self.0.add(offset) }
    }
}

/// A convolution kernel and burn's `conv2d` (stride 1, padding `k / 2`) on the same random
/// input, `k x k` weight of spread `spread` and bias: the kernel's output, then burn's.
#[cfg(test)]
fn against_burns_conv2d(
    kernel: ConvKernel,
    dims: [usize; 4],
    c_out: usize,
    k: usize,
    spread: f64,
) -> (Vec<f32>, Vec<f32>) {
    use burn::tensor::Distribution;
    use burn::tensor::module::conv2d;
    use burn::tensor::ops::ConvOptions;
    let device = Device::flex();
    let normal = |std| Distribution::Normal(0.0, std);
    let x = Tensor::<4>::random(dims, normal(1.0), &device);
    let weight = Tensor::<4>::random([c_out, dims[1], k, k], normal(spread), &device);
    let bias = Tensor::<1>::random([c_out], normal(1.0), &device);
    let pad = k / 2;
    let options = ConvOptions::new([1, 1], [pad, pad], [1, 1], 1);
    let values = |data: TensorData| data.try_into_vec::<f32>().unwrap();
    let want = conv2d(x.clone(), weight.clone(), Some(bias.clone()), options);
    let got = kernel(
        &values(x.into_data()),
        dims,
        &values(weight.into_data()),
        Some(&values(bias.into_data())),
    );
    (got, values(want.into_data()))
}
