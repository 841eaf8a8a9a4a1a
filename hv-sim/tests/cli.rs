//! The `hv-sim` program: arguments, exit status, serial output and `--stats json`.

use std::path::PathBuf;
use std::process::Command;

use iced_x86::code_asm::*;

fn hv_sim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hv-sim"))
}

/// A minimal ELF64 x86-64 executable: one PT_LOAD segment of `code` at 1 MiB, entered there.
fn elf(code: &[u8]) -> Vec<u8> {
    const LOAD: u64 = 0x10_0000;
    const OFFSET: u64 = 0x1000;
    let mut file = Vec::new();
    file.extend_from_slice(&[0x7F, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    file.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    file.extend_from_slice(&0x3Eu16.to_le_bytes()); // EM_X86_64
    file.extend_from_slice(&1u32.to_le_bytes()); // EV_CURRENT
    file.extend_from_slice(&LOAD.to_le_bytes()); // e_entry
    file.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    file.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    file.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    for half in [64u16, 56, 1, 64, 0, 0] {
        // ehsize, phentsize, phnum, shentsize, shnum, shstrndx
        file.extend_from_slice(&half.to_le_bytes());
    }
    file.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    file.extend_from_slice(&5u32.to_le_bytes()); // R + X
    for quad in [
        OFFSET,
        LOAD,
        LOAD,
        code.len() as u64,
        code.len() as u64,
        0x1000,
    ] {
        // offset, vaddr, paddr, filesz, memsz, align
        file.extend_from_slice(&quad.to_le_bytes());
    }
    file.resize(OFFSET as usize, 0);
    file.extend_from_slice(code);
    file
}

/// Writes `hi` to COM1, then `value` to the debug-exit port.
fn guest(value: u32) -> Vec<u8> {
    let mut a = CodeAssembler::new(64).unwrap();
    a.mov(edx, 0x3F8u32).unwrap();
    for byte in *b"hi\n" {
        a.mov(al, u32::from(byte)).unwrap();
        a.out(dx, al).unwrap();
    }
    a.mov(edx, 0xF4u32).unwrap();
    a.mov(eax, value).unwrap();
    a.out(dx, eax).unwrap();
    a.hlt().unwrap();
    a.assemble(0x10_0000).unwrap()
}

/// Writes `image` to a file of its own under the system temporary directory.
fn kernel_file(name: &str, image: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("hv-sim-cli-{}-{name}.elf", std::process::id()));
    std::fs::write(&path, image).unwrap();
    path
}

#[test]
fn usage_errors_exit_2() {
    let out = hv_sim().output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: hv-sim"));
    let kernel = kernel_file("usage", &elf(&guest(0x10)));
    for bad in [
        &["--profile", "xen"][..],
        &["--hv", "stimer"],
        &["--stats", "yaml"],
        &["--mem", "lots"],
        &["--frobnicate"],
    ] {
        let out = hv_sim().arg(&kernel).args(bad).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
    let missing = hv_sim().arg("/nonexistent/kernel.elf").output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
    std::fs::remove_file(kernel).unwrap();
}

#[test]
fn a_kernel_runs_with_serial_output_exit_status_and_counters() {
    let kernel = kernel_file("run", &elf(&guest(0x10)));
    let out = hv_sim()
        .arg(&kernel)
        .args(["--profile", "hyperv", "--stats", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(33), "(0x10 << 1) | 1");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let (serial, stats) = stdout.split_once("hi\n").unwrap();
    assert_eq!(serial, "");
    assert!(stats.starts_with("{\"instructions\":"), "{stats}");
    assert!(
        stats.contains("\"io_out\":{\"0xf4\":1,\"0x3f8\":3}"),
        "{stats}"
    );
    // --quiet: no serial output, the same status.
    let quiet = hv_sim().arg(&kernel).arg("--quiet").output().unwrap();
    assert_eq!(quiet.status.code(), Some(33));
    assert!(quiet.stdout.is_empty());
    std::fs::remove_file(kernel).unwrap();

    let failing = kernel_file("fail", &elf(&guest(0x11)));
    let out = hv_sim().arg(&failing).output().unwrap();
    assert_eq!(out.status.code(), Some(35));
    std::fs::remove_file(failing).unwrap();
}

#[test]
fn a_kernel_that_halts_for_ever_is_a_model_error() {
    let mut a = CodeAssembler::new(64).unwrap();
    a.cli().unwrap();
    a.hlt().unwrap();
    let kernel = kernel_file("halt", &elf(&a.assemble(0x10_0000).unwrap()));
    let out = hv_sim().arg(&kernel).output().unwrap();
    assert_eq!(out.status.code(), Some(10));
    assert!(String::from_utf8_lossy(&out.stderr).contains("halted"));
    std::fs::remove_file(kernel).unwrap();
}
