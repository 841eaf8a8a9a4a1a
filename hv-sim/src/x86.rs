//! Architectural helpers the model needs because Unicorn does not do them for it: linear
//! address translation (4-level paging) and delivery of exceptions and interrupts through
//! the guest's IDT in 64-bit mode (Intel SDM vol. 3, 6.14).

use unicorn_engine::unicorn_const::RegisterX86 as R;

use crate::uc::{Cpu, UcError};

/// Why a guest-memory access by the model failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// A page fault the guest would see: CR2 and error code.
    Page { address: u64, error_code: u32 },
    /// A general-protection fault with error code.
    Gp(u32),
    /// A segment-not-present fault with error code.
    NotPresent(u32),
    /// The emulator failed.
    Emulator(UcError),
}

impl From<UcError> for Fault {
    fn from(error: UcError) -> Self {
        Self::Emulator(error)
    }
}

const PTE_P: u64 = 1;
const PTE_W: u64 = 1 << 1;
const PTE_U: u64 = 1 << 2;
const PTE_PS: u64 = 1 << 7;
const ADDR_MASK: u64 = 0x000F_FFFF_FFFF_F000;

/// Translates linear address `va` for a supervisor (or `user`) read or `write`.
pub(crate) fn translate(cpu: &Cpu<'_>, va: u64, write: bool, user: bool) -> Result<u64, Fault> {
    let cr0 = cpu.read(R::CR0)?;
    if cr0 & (1 << 31) == 0 {
        return Ok(va);
    }
    let wp = cr0 & (1 << 16) != 0;
    let mut table = cpu.read(R::CR3)? & ADDR_MASK;
    let mut writable = true;
    let mut user_ok = true;
    let fault = |present: bool| Fault::Page {
        address: va,
        error_code: u32::from(present) | (u32::from(write) << 1) | (u32::from(user) << 2),
    };
    for level in (0..4).rev() {
        let shift = 12 + 9 * level;
        let index = (va >> shift) & 0x1FF;
        let mut entry = [0u8; 8];
        cpu.read_mem(table + index * 8, &mut entry)
            .map_err(|_| fault(false))?;
        let entry = u64::from_le_bytes(entry);
        if entry & PTE_P == 0 {
            return Err(fault(false));
        }
        writable &= entry & PTE_W != 0;
        user_ok &= entry & PTE_U != 0;
        let leaf = level == 0 || (level <= 2 && entry & PTE_PS != 0);
        if leaf {
            if (user && !user_ok) || (write && !writable && (user || wp)) {
                return Err(fault(true));
            }
            let size_mask = (1u64 << shift) - 1;
            return Ok((entry & ADDR_MASK & !size_mask) | (va & size_mask));
        }
        table = entry & ADDR_MASK;
    }
    Err(fault(false))
}

/// Reads `buf.len()` bytes at linear address `va` (supervisor access).
pub(crate) fn read_linear(cpu: &Cpu<'_>, va: u64, buf: &mut [u8]) -> Result<(), Fault> {
    let mut done = 0;
    while done < buf.len() {
        let addr = va.wrapping_add(done as u64);
        let chunk = ((0x1000 - (addr & 0xFFF)) as usize).min(buf.len() - done);
        let pa = translate(cpu, addr, false, false)?;
        cpu.read_mem(pa, &mut buf[done..done + chunk])
            .map_err(|_| Fault::Page {
                address: addr,
                error_code: 0,
            })?;
        done += chunk;
    }
    Ok(())
}

fn write_u64(cpu: &mut Cpu<'_>, va: u64, value: u64) -> Result<(), Fault> {
    let pa = translate(cpu, va, true, false)?;
    cpu.write_mem(pa, &value.to_le_bytes())
        .map_err(|_| Fault::Page {
            address: va,
            error_code: 3,
        })
}

fn read_u64(cpu: &Cpu<'_>, va: u64) -> Result<u64, Fault> {
    let mut bytes = [0u8; 8];
    read_linear(cpu, va, &mut bytes)?;
    Ok(u64::from_le_bytes(bytes))
}

/// What is being delivered.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum EventKind {
    /// A CPU exception, with its error code if the vector has one.
    Exception(Option<u32>),
    /// An external (APIC) interrupt.
    External,
    /// `INT n`, `INT3` or `INTO`: the gate's DPL is checked against CPL.
    Software,
}

/// The result of a successful delivery, for the caller's bookkeeping.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Delivered {
    /// Delivered at the same privilege level.
    Done,
    /// The target code segment is more privileged than the current one.
    PrivilegeChange,
}

/// Delivers `vector` through the IDT in 64-bit mode: checks the gate, picks the stack
/// (current or IST; a privilege change is reported, not performed), pushes SS, RSP,
/// RFLAGS, CS, RIP and the error code, clears TF/NT/RF (and IF for an interrupt gate) and
/// jumps to the handler. The return RIP is the current RIP.
pub(crate) fn deliver(cpu: &mut Cpu<'_>, vector: u8, kind: EventKind) -> Result<Delivered, Fault> {
    let ext = u32::from(kind != EventKind::Software);
    let idt_code = u32::from(vector) * 8 + 2 + ext;
    let idtr = cpu.read_table(R::IDTR)?;
    let offset = u64::from(vector) * 16;
    if offset + 15 > u64::from(idtr.limit) {
        return Err(Fault::Gp(idt_code));
    }
    let mut gate = [0u8; 16];
    read_linear(cpu, idtr.base.wrapping_add(offset), &mut gate)?;
    let gate_type = gate[5] & 0x0F;
    let gate_dpl = (gate[5] >> 5) & 3;
    let cs = cpu.read(R::CS)? as u16;
    let cpl = (cs & 3) as u8;
    if gate_type != 0xE && gate_type != 0xF {
        return Err(Fault::Gp(idt_code));
    }
    if kind == EventKind::Software && gate_dpl < cpl {
        return Err(Fault::Gp(idt_code));
    }
    if gate[5] & 0x80 == 0 {
        return Err(Fault::NotPresent(idt_code));
    }
    let selector = u16::from_le_bytes([gate[2], gate[3]]);
    let target = u64::from(u16::from_le_bytes([gate[0], gate[1]]))
        | u64::from(u16::from_le_bytes([gate[6], gate[7]])) << 16
        | u64::from(u32::from_le_bytes([gate[8], gate[9], gate[10], gate[11]])) << 32;
    let ist = gate[4] & 7;
    // The target code segment descriptor.
    let sel_code = u32::from(selector & 0xFFFC) | ext;
    if selector & 0xFFFC == 0 {
        return Err(Fault::Gp(ext));
    }
    let gdtr = cpu.read_table(R::GDTR)?;
    if u64::from(selector & 0xFFF8) + 7 > u64::from(gdtr.limit) || selector & 4 != 0 {
        return Err(Fault::Gp(sel_code));
    }
    let desc = read_u64(cpu, gdtr.base.wrapping_add(u64::from(selector & 0xFFF8)))?;
    let is_code = desc & (1 << 44) != 0 && desc & (1 << 43) != 0;
    let long = desc & (1 << 53) != 0;
    let cs_dpl = ((desc >> 45) & 3) as u8;
    if !is_code || !long || cs_dpl > cpl {
        return Err(Fault::Gp(sel_code));
    }
    if desc & (1 << 47) == 0 {
        return Err(Fault::NotPresent(sel_code));
    }
    if cs_dpl < cpl {
        return Ok(Delivered::PrivilegeChange);
    }
    let old_rsp = cpu.read(R::RSP)?;
    let mut rsp = if ist != 0 {
        let tr = cpu.read_table(R::TR)?;
        read_u64(cpu, tr.base.wrapping_add(0x24 + 8 * u64::from(ist - 1)))?
    } else {
        old_rsp
    };
    rsp &= !0xF;
    let rflags = cpu.read(R::RFLAGS)?;
    let ss = cpu.read(R::SS)?;
    let rip = cpu.read(R::RIP)?;
    let mut frame = vec![ss, old_rsp, rflags, u64::from(cs), rip];
    if let EventKind::Exception(Some(code)) = kind {
        frame.push(u64::from(code));
    }
    for value in frame {
        rsp = rsp.wrapping_sub(8);
        write_u64(cpu, rsp, value)?;
    }
    // TF (8), NT (14), RF (16), VM (17); IF (9) for an interrupt gate.
    let mut clear = (1 << 8) | (1 << 14) | (1 << 16) | (1 << 17);
    if gate_type == 0xE {
        clear |= 1 << 9;
    }
    cpu.write(R::RSP, rsp)?;
    cpu.write(R::RFLAGS, rflags & !clear)?;
    if u64::from(selector) != u64::from(cs) {
        cpu.write(R::CS, u64::from(selector))?;
    }
    cpu.write(R::RIP, target)?;
    Ok(Delivered::Done)
}

/// The code size of the code the CPU runs now: 16 in real mode, 64 with paging on (the
/// model runs paged guests in long mode only: 32-bit paging is not supported), else 32 or
/// 16 from the D bit of the GDT descriptor that CS names (a null or unreadable one counts
/// as 16).
pub(crate) fn code_bits(cpu: &Cpu<'_>) -> u32 {
    let cr0 = cpu.read(R::CR0).unwrap_or(0);
    if cr0 & 1 == 0 {
        return 16;
    }
    if cr0 & (1 << 31) != 0 {
        return 64;
    }
    let selector = cpu.read(R::CS).unwrap_or(0) & 0xFFF8;
    let descriptor = cpu.read_table(R::GDTR).ok().and_then(|gdtr| {
        let mut bytes = [0u8; 8];
        let inside = selector != 0 && selector + 7 <= u64::from(gdtr.limit);
        (inside && cpu.read_mem(gdtr.base + selector, &mut bytes).is_ok())
            .then(|| u64::from_le_bytes(bytes))
    });
    match descriptor {
        Some(d) if d & (1 << 54) != 0 => 32,
        _ => 16,
    }
}
