//! The ACPI tables the model gives the guest: an RSDP (revision 2), an XSDT and a MADT
//! listing one processor local APIC per VP (ACPI 6.5, 5.2.5, 5.2.8, 5.2.12), so that a
//! kernel can find the application processors it may start, as on QEMU and Hyper-V.
//!
//! VP `i` has APIC id `i`. Ids below 255 get a Processor Local APIC entry (type 0), others
//! a Processor Local x2APIC entry (type 9), as ACPI 6.5 5.2.12.12 asks. Every processor is
//! enabled. The MADT names the default local APIC address and sets PCAT_COMPAT (the
//! machine has the legacy 8259 pair).

/// Where the tables live: RSDP, XSDT and MADT, in the host-reserved boot area.
const RSDP_OFFSET: u64 = 0;
const XSDT_OFFSET: u64 = 0x40;
const MADT_OFFSET: u64 = 0x80;

/// OEM id and table id the model writes.
const OEM_ID: &[u8; 6] = b"HVSIM ";
const OEM_TABLE_ID: &[u8; 8] = b"HVSIMTBL";

/// The bytes of a table with a valid checksum (byte 9 of every SDT header, byte 8 of the
/// RSDP's first 20 bytes, byte 32 of the RSDP as a whole).
fn checksum(bytes: &[u8]) -> u8 {
    bytes
        .iter()
        .fold(0u8, |sum, b| sum.wrapping_add(*b))
        .wrapping_neg()
}

/// An SDT header (ACPI 6.5, 5.2.6) for a table of `length` bytes.
fn header(signature: &[u8; 4], length: usize, revision: u8) -> Vec<u8> {
    let mut h = Vec::with_capacity(36);
    h.extend_from_slice(signature);
    h.extend_from_slice(&(length as u32).to_le_bytes());
    h.push(revision);
    h.push(0); // checksum, filled in by `finish`
    h.extend_from_slice(OEM_ID);
    h.extend_from_slice(OEM_TABLE_ID);
    h.extend_from_slice(&1u32.to_le_bytes()); // OEM revision
    h.extend_from_slice(b"HVSM"); // creator id
    h.extend_from_slice(&1u32.to_le_bytes()); // creator revision
    h
}

fn finish(mut table: Vec<u8>) -> Vec<u8> {
    table[9] = checksum(&table);
    table
}

/// The MADT for VPs with APIC ids `apic_ids`.
fn madt(apic_ids: &[u32]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&0xFEE0_0000u32.to_le_bytes()); // local APIC address
    body.extend_from_slice(&1u32.to_le_bytes()); // flags: PCAT_COMPAT
    for (uid, &id) in apic_ids.iter().enumerate() {
        if let Ok(id8) = u8::try_from(id)
            && id8 != 0xFF
        {
            // Processor Local APIC: type, length, ACPI processor UID, APIC id, flags.
            body.extend_from_slice(&[0, 8, uid as u8, id8]);
            body.extend_from_slice(&1u32.to_le_bytes()); // enabled
        } else {
            // Processor Local x2APIC: type, length, reserved, x2APIC id, flags, UID.
            body.extend_from_slice(&[9, 16, 0, 0]);
            body.extend_from_slice(&id.to_le_bytes());
            body.extend_from_slice(&1u32.to_le_bytes());
            body.extend_from_slice(&(uid as u32).to_le_bytes());
        }
    }
    let mut table = header(b"APIC", 36 + body.len(), 5);
    table.extend_from_slice(&body);
    finish(table)
}

/// The tables to write at `base` for VPs with APIC ids `apic_ids`: (offset from `base`,
/// bytes) pairs. The RSDP is at `base`.
pub(crate) fn tables(base: u64, apic_ids: &[u32]) -> Vec<(u64, Vec<u8>)> {
    let mut xsdt = header(b"XSDT", 36 + 8, 1);
    xsdt.extend_from_slice(&(base + MADT_OFFSET).to_le_bytes());
    let mut rsdp = Vec::with_capacity(36);
    rsdp.extend_from_slice(b"RSD PTR ");
    rsdp.push(0); // checksum of the first 20 bytes
    rsdp.extend_from_slice(OEM_ID);
    rsdp.push(2); // revision
    rsdp.extend_from_slice(&0u32.to_le_bytes()); // no RSDT
    rsdp.extend_from_slice(&36u32.to_le_bytes()); // length
    rsdp.extend_from_slice(&(base + XSDT_OFFSET).to_le_bytes());
    rsdp.extend_from_slice(&[0; 4]); // extended checksum, reserved
    rsdp[8] = checksum(&rsdp[..20]);
    rsdp[32] = checksum(&rsdp);
    vec![
        (RSDP_OFFSET, rsdp),
        (XSDT_OFFSET, finish(xsdt)),
        (MADT_OFFSET, madt(apic_ids)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sums_to_zero(bytes: &[u8]) -> bool {
        bytes.iter().fold(0u8, |sum, b| sum.wrapping_add(*b)) == 0
    }

    #[test]
    fn every_table_checks_out_and_points_at_the_next() {
        let t = tables(0x2200, &[0, 1]);
        let (rsdp, xsdt, madt) = (&t[0].1, &t[1].1, &t[2].1);
        assert!(sums_to_zero(&rsdp[..20]) && sums_to_zero(rsdp));
        assert_eq!(&rsdp[24..32], &(0x2200u64 + XSDT_OFFSET).to_le_bytes());
        assert!(sums_to_zero(xsdt));
        assert_eq!(&xsdt[36..44], &(0x2200u64 + MADT_OFFSET).to_le_bytes());
        assert!(sums_to_zero(madt));
        assert_eq!(&madt[..4], b"APIC");
        assert_eq!(madt.len(), 44 + 2 * 8);
        // The second entry: local APIC, UID 1, APIC id 1, enabled.
        assert_eq!(madt[52..60], [0, 8, 1, 1, 1, 0, 0, 0]);
        assert!(
            t.iter()
                .all(|(offset, bytes)| offset + bytes.len() as u64 <= 0x400)
        );
    }

    #[test]
    fn large_apic_ids_get_x2apic_entries() {
        let t = tables(0, &[0, 300]);
        let madt = &t[2].1;
        assert_eq!(madt.len(), 44 + 8 + 16);
        assert_eq!(madt[52..56], [9, 16, 0, 0]);
        assert_eq!(&madt[56..60], &300u32.to_le_bytes());
    }
}
