//! How the command line opens its inputs: the library's one input policy
//! ([`Input::open`]), with mapping on unless `--no-mmap`.

use std::path::Path;
use stream_chat_export::{Input, MmapChoice, Result};

/// Opens `file` (`-` is stdin); maps plain regular files unless `no_mmap`.
pub fn open(file: &Path, no_mmap: bool) -> Result<Input> {
    let choice = if no_mmap {
        MmapChoice::never()
    } else {
        // SAFETY: the command line documents (README, `--help` of
        // `--no-mmap`) that a file truncated by another process while it is
        // read kills the process, and offers `--no-mmap` for such files:
        // exports are written once, then read.
        unsafe { MmapChoice::auto() }
    };
    Input::open(file, choice)
}

/// The size of `file` if it is a regular file (progress totals), else 0.
pub fn size_of(file: &Path) -> u64 {
    if file == Path::new("-") {
        return 0;
    }
    std::fs::metadata(file).map_or(0, |m| if m.is_file() { m.len() } else { 0 })
}
