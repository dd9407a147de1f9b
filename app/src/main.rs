//! `avsync`: the AvSync Studio editor (no arguments) and its command line (subcommands).

use avsync_app::cli;

use std::process::ExitCode;

use clap::Parser;

/// Large activations freed by one denoising step are reused by the next instead of being
/// mapped and faulted in afresh (see `avsync_engine::buffer_cache`).
#[global_allocator]
static ALLOCATOR: avsync_engine::buffer_cache::BufferCache =
    avsync_engine::buffer_cache::BufferCache::new();

fn main() -> ExitCode {
    keep_large_buffers_mapped();
    let args = cli::Cli::parse();
    if args.is_command() {
        end_quietly_on_closed_pipe();
    }
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// glibc raises its mmap threshold each time a large block is freed, after which large
/// buffers of varying size (decoded sounds, spectrograms) come from the heap and fragment it:
/// indexing a library or a long batch then grows without bound (measured: 0.4 to 0.86 GB over
/// 3 minutes of indexing). A fixed threshold hands them back to the system. It sits at 4 MiB,
/// above the network's working buffers: at 128 KiB every convolution's scratch buffer was a
/// fresh mapping, and page faults took a third of a generation's time (a 6 s candidate: 11.3 s
/// against 7.6 s). Fixing the threshold also pins glibc's trim threshold at 128 KiB, so the
/// free space at the top of the heap went back to the system after every layer and the next
/// layer faulted it in again; it is kept up to 64 MiB instead.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_large_buffers_mapped() {
    // SAFETY: mallopt only tunes the allocator; it runs first, before any other thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 * 1024 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 * 1024 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_large_buffers_mapped() {}

/// `avsync probe clip.mp4 | head` closes the pipe early: a command ends as Unix tools do
/// (the default SIGPIPE action) rather than panic in `println!`. The editor keeps Rust's
/// default, so a closed socket is an error it handles, not the end of the session.
#[cfg(unix)]
fn end_quietly_on_closed_pipe() {
    // SAFETY: restores the default action of one signal, before any other thread runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn end_quietly_on_closed_pipe() {}
