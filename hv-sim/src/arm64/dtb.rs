//! The flattened device tree the model hands the kernel in X0 (Devicetree Specification
//! 0.4, chapter 5), describing the machine of `docs/architecture.md` ("Boot contract of the
//! arm64 sample kernel") at QEMU `virt`'s addresses.

use super::layout::{GICD_BASE, GICD_SIZE, GICR_BASE, GICR_SIZE, PL011_BASE, PL011_SIZE, RAM_BASE};

const FDT_MAGIC: u32 = 0xD00D_FEED;
const FDT_BEGIN_NODE: u32 = 1;
const FDT_END_NODE: u32 = 2;
const FDT_PROP: u32 = 3;
const FDT_END: u32 = 9;
/// Header size (version 17).
const HEADER: usize = 40;
/// The phandle of the GIC, the interrupt parent of everything.
const GIC_PHANDLE: u32 = 1;
/// PPI type and flags of an `interrupts` entry: type 1 (PPI), level high, all CPUs.
const PPI: u32 = 1;
const PPI_FLAGS: u32 = 0xF04;

/// Builds a blob: nodes and properties go to the structure block, names to the strings
/// block.
#[derive(Default)]
struct Builder {
    structure: Vec<u8>,
    strings: Vec<u8>,
}

fn cells(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

fn reg(base: u64, size: u64) -> Vec<u32> {
    vec![
        (base >> 32) as u32,
        base as u32,
        (size >> 32) as u32,
        size as u32,
    ]
}

fn string_list(items: &[&str]) -> Vec<u8> {
    items
        .iter()
        .flat_map(|s| s.bytes().chain(core::iter::once(0)))
        .collect()
}

impl Builder {
    fn token(&mut self, token: u32) {
        self.structure.extend_from_slice(&token.to_be_bytes());
    }

    fn pad(&mut self) {
        while self.structure.len() % 4 != 0 {
            self.structure.push(0);
        }
    }

    fn begin(&mut self, name: &str) -> &mut Self {
        self.token(FDT_BEGIN_NODE);
        self.structure.extend_from_slice(name.as_bytes());
        self.structure.push(0);
        self.pad();
        self
    }

    fn end(&mut self) -> &mut Self {
        self.token(FDT_END_NODE);
        self
    }

    fn prop(&mut self, name: &str, value: &[u8]) -> &mut Self {
        let offset = match self
            .strings
            .windows(name.len() + 1)
            .position(|w| &w[..name.len()] == name.as_bytes() && w[name.len()] == 0)
        {
            Some(at) => at,
            None => {
                let at = self.strings.len();
                self.strings.extend_from_slice(name.as_bytes());
                self.strings.push(0);
                at
            }
        };
        self.token(FDT_PROP);
        self.structure
            .extend_from_slice(&(value.len() as u32).to_be_bytes());
        self.structure
            .extend_from_slice(&(offset as u32).to_be_bytes());
        self.structure.extend_from_slice(value);
        self.pad();
        self
    }

    fn u32s(&mut self, name: &str, values: &[u32]) -> &mut Self {
        self.prop(name, &cells(values))
    }

    fn str(&mut self, name: &str, value: &str) -> &mut Self {
        self.prop(name, &string_list(&[value]))
    }

    fn finish(mut self) -> Vec<u8> {
        self.token(FDT_END);
        // An empty memory reservation block (one terminating entry).
        let rsvmap = HEADER;
        let structure = rsvmap + 16;
        let strings = structure + self.structure.len();
        let total = strings + self.strings.len();
        let mut blob = Vec::with_capacity(total);
        for word in [
            FDT_MAGIC,
            total as u32,
            structure as u32,
            strings as u32,
            rsvmap as u32,
            17,
            16,
            0,
            self.strings.len() as u32,
            self.structure.len() as u32,
        ] {
            blob.extend_from_slice(&word.to_be_bytes());
        }
        blob.extend_from_slice(&[0; 16]);
        blob.extend_from_slice(&self.structure);
        blob.extend_from_slice(&self.strings);
        blob
    }
}

/// The device tree of a machine with `ram_bytes` of RAM at [`RAM_BASE`] and `bootargs` as
/// the command line.
pub(crate) fn build(ram_bytes: u64, bootargs: &str) -> Vec<u8> {
    let mut b = Builder::default();
    b.begin("")
        .u32s("#address-cells", &[2])
        .u32s("#size-cells", &[2])
        .prop("compatible", &string_list(&["linux,dummy-virt"]))
        .u32s("interrupt-parent", &[GIC_PHANDLE]);
    b.begin("chosen")
        .str("bootargs", bootargs)
        .str("stdout-path", "/pl011@9000000")
        .end();
    b.begin("memory@40000000")
        .str("device_type", "memory")
        .u32s("reg", &reg(RAM_BASE, ram_bytes))
        .end();
    b.begin("cpus")
        .u32s("#address-cells", &[1])
        .u32s("#size-cells", &[0]);
    b.begin("cpu@0")
        .str("device_type", "cpu")
        .str("compatible", "arm,cortex-a72")
        .u32s("reg", &[0])
        .str("enable-method", "psci")
        .end();
    b.end();
    b.begin("psci")
        .prop(
            "compatible",
            &string_list(&["arm,psci-1.0", "arm,psci-0.2"]),
        )
        .str("method", "hvc")
        .end();
    let mut gic_reg = reg(GICD_BASE, GICD_SIZE);
    gic_reg.extend(reg(GICR_BASE, GICR_SIZE));
    b.begin("intc@8000000")
        .str("compatible", "arm,gic-v3")
        .u32s("#interrupt-cells", &[3])
        .prop("interrupt-controller", &[])
        .u32s("#redistributor-regions", &[1])
        .u32s("reg", &gic_reg)
        .u32s("phandle", &[GIC_PHANDLE])
        .end();
    // Secure physical, non-secure physical, virtual, hypervisor timers: PPIs 13, 14, 11, 10.
    let timers: Vec<u32> = [13, 14, 11, 10]
        .iter()
        .flat_map(|&ppi| [PPI, ppi, PPI_FLAGS])
        .collect();
    b.begin("timer")
        .str("compatible", "arm,armv8-timer")
        .u32s("interrupts", &timers)
        .prop("always-on", &[])
        .end();
    b.begin("pl011@9000000")
        .prop("compatible", &string_list(&["arm,pl011", "arm,primecell"]))
        .u32s("reg", &reg(PL011_BASE, PL011_SIZE))
        .end();
    b.end();
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn be32(blob: &[u8], at: usize) -> u32 {
        u32::from_be_bytes(blob[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn header_and_blocks_are_consistent() {
        let blob = build(128 << 20, "selftest");
        assert_eq!(be32(&blob, 0), FDT_MAGIC);
        assert_eq!(be32(&blob, 4) as usize, blob.len());
        let (structure, strings) = (be32(&blob, 8) as usize, be32(&blob, 12) as usize);
        assert_eq!(be32(&blob, 20), 17);
        assert_eq!(structure + be32(&blob, 36) as usize, strings);
        assert_eq!(strings + be32(&blob, 32) as usize, blob.len());
        assert_eq!(be32(&blob, structure), FDT_BEGIN_NODE);
        assert_eq!(be32(&blob, strings - 4), FDT_END);
        // Every property value the kernel reads is present.
        let text = String::from_utf8_lossy(&blob);
        for needle in ["arm,gic-v3", "arm,armv8-timer", "hvc", "selftest", "memory"] {
            assert!(text.contains(needle), "{needle}");
        }
    }

    #[test]
    fn property_names_are_stored_once() {
        let blob = build(64 << 20, "");
        let strings = be32(&blob, 12) as usize;
        let names = &blob[strings..];
        let count = names
            .split(|&b| b == 0)
            .filter(|n| *n == b"compatible")
            .count();
        assert_eq!(count, 1);
    }
}
