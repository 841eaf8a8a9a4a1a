//! Checks on `hv-sim --stats json` counters: the measurements a kernel cannot make itself
//! (how many exits a clock read costs, how many EOM writes draining messages costs) and the
//! crash report hv-sim recorded.

use serde_json::Value;

/// The MSR the reference counter is read through (TLFS 12.4).
const TIME_REF_COUNT: &str = "0x40000020";
/// The SynIC EOM MSR (TLFS 11.8.6).
const EOM: &str = "0x40000084";
/// `HvCallGetVpRegisters` (any status), the other way to read the counter.
const GET_VP_REGISTERS: &str = "0x0050/";

/// Time-reading exits a boot of the demo may make apart from its TSC page reads: the
/// reference counter step reads the counter twice, the TSC page step once before and once
/// after its loop, the slow and XMM hypercall steps read the VP index by
/// `HvCallGetVpRegisters` once each. Anything that grows with the page reads exceeds it.
const TIME_EXITS_OUTSIDE_THE_LOOP: u64 = 8;

/// `HvCallGetVpRegisters` calls of the VSM step, none of which reads the time: VTL 0 reads
/// the VSM status registers and the VP status and code page offsets for its VTL call gate;
/// VTL 1 the same for its return gate, and its partition configuration.
const VSM_REGISTER_READS: u64 = 4;

/// P0 of the `hv-crash` kernel's report ("HVCR").
pub(crate) const CRASH_P0: u64 = 0x4856_4352;
/// The `hv-crash` kernel's crash message.
pub(crate) const CRASH_MESSAGE: &str = "hv-crash: the sample kernel reports a crash on purpose";

fn parse(stats: &str) -> Result<Value, String> {
    serde_json::from_str(stats).map_err(|e| format!("--stats json is not JSON ({e}): {stats}"))
}

fn number(value: &Value, path: &[&str]) -> u64 {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

/// The `ok` line of `feature` in `serial`.
fn ok_line<'a>(serial: &'a str, feature: &str) -> Option<&'a str> {
    serial
        .lines()
        .find(|l| l.starts_with(&format!("[hv] {feature}: ok (")))
}

/// The decimal number right after `prefix` in the `ok` line of `feature`.
fn reported(serial: &str, feature: &str, prefix: &str) -> Option<u64> {
    let line = ok_line(serial, feature)?;
    let rest = &line[line.find(prefix)? + prefix.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The decimal number right before `suffix` in the `ok` line of `feature`.
fn reported_before(serial: &str, feature: &str, suffix: &str) -> Option<u64> {
    let line = ok_line(serial, feature)?;
    let head = &line[..line.find(suffix)?];
    let start = head
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    head[start..].parse().ok()
}

/// The demo's measurements, from its serial output and counters: a reference TSC page read
/// costs no exit, draining the echoed messages writes EOM at most once per pending flag the
/// host set, and the EOIs the assist allowed to skip were skipped. Returns a summary.
pub(crate) fn check_demo(serial: &str, stats: &str) -> Result<String, String> {
    let json = parse(stats)?;
    let mut summary = Vec::new();
    if let Some(reads) = reported(serial, "reference TSC page", "(") {
        let counter = number(&json, &["msr_read", TIME_REF_COUNT]);
        let calls: u64 = json
            .get("hypercall")
            .and_then(Value::as_object)
            .map(|calls| {
                calls
                    .iter()
                    .filter(|(k, _)| k.starts_with(GET_VP_REGISTERS))
                    .filter_map(|(_, v)| v.as_u64())
                    .sum()
            })
            .unwrap_or(0);
        let vsm_reads = if ok_line(serial, "VSM").is_some() {
            VSM_REGISTER_READS
        } else {
            0
        };
        let calls = calls.saturating_sub(vsm_reads);
        if counter + calls > TIME_EXITS_OUTSIDE_THE_LOOP {
            return Err(format!(
                "{reads} TSC page reads, but {counter} TIME_REF_COUNT reads and {calls} \
                 HvCallGetVpRegisters calls in the boot: page reads make exits"
            ));
        }
        summary.push(format!(
            "reference time: {reads} page reads, {counter} counter MSR reads and {calls} register \
             hypercalls in the whole boot (0 exits per read; {vsm_reads} VSM register reads not \
             counted); {} RDTSC trapped by the model",
            number(&json, &["rdtsc"])
        ));
    }
    if let Some(echoes) = reported_before(serial, "SynIC", " echoes back") {
        let messages = number(&json, &["synic", "messages"]);
        let flags = number(&json, &["synic", "pending_flags"]);
        let eoms = number(&json, &["msr_write", EOM]);
        if messages < echoes {
            return Err(format!(
                "{echoes} echoes reported, {messages} messages delivered"
            ));
        }
        if eoms > flags {
            return Err(format!(
                "{eoms} EOM writes for {flags} pending flags: the guest wrote EOM without one"
            ));
        }
        summary.push(format!(
            "SynIC: {messages} messages delivered ({echoes} echoes), {flags} pending flags, \
             {eoms} EOM writes"
        ));
    }
    if let Some(trips) = reported_before(serial, "VMBus", " echoes of") {
        summary.push(check_vmbus(&json, trips)?);
    }
    if let Some(skipped) = reported(serial, "VP assist page", "EOI assist: ") {
        let host = number(&json, &["synic", "eoi_assist_skipped"]);
        if host < skipped {
            return Err(format!(
                "the kernel skipped {skipped} EOIs, the host completed {host}"
            ));
        }
        summary.push(format!(
            "EOI assist: {} set, {host} EOIs skipped and completed by the host",
            number(&json, &["synic", "eoi_assist_set"])
        ));
    }
    if ok_line(serial, "VSM").is_some() {
        summary.push(check_vsm(&json)?);
    }
    Ok(summary.join("; "))
}

/// The largest share of packets that may cost a signal in either direction: the ring rules
/// signal only a side that may be waiting, so a burst must cost far fewer than one per packet.
const MAX_SIGNALS_PER_PACKET: f64 = 0.5;

/// The VMBus echo: the host echoed exactly the round trips the kernel reported, dropped no
/// message, found no corrupt ring, and signals in each direction stayed well below one per
/// packet.
fn check_vmbus(json: &Value, trips: u64) -> Result<String, String> {
    let vmbus = |key| number(json, &["vmbus", key]);
    let echoed = vmbus("packets_echoed");
    let (guest, host) = (vmbus("guest_signals"), vmbus("host_signals"));
    if echoed != trips {
        return Err(format!(
            "the kernel reported {trips} VMBus round trips, hv-sim echoed {echoed}"
        ));
    }
    if vmbus("bad_messages") != 0 || vmbus("ring_errors") != 0 {
        return Err(format!(
            "hv-sim dropped {} VMBus messages and stopped {} rings",
            vmbus("bad_messages"),
            vmbus("ring_errors")
        ));
    }
    let per_packet = |n: u64| n as f64 / trips.max(1) as f64;
    if per_packet(guest) > MAX_SIGNALS_PER_PACKET || per_packet(host) > MAX_SIGNALS_PER_PACKET {
        return Err(format!(
            "VMBus signals per packet: {:.3} to the host, {:.3} to the guest (at most \
             {MAX_SIGNALS_PER_PACKET})",
            per_packet(guest),
            per_packet(host)
        ));
    }
    Ok(format!(
        "VMBus: {trips} packets echoed, {guest} guest-to-host signals ({:.3} per packet), \
         {host} host-to-guest ({:.3}), {} messages to the host, {} to the guest",
        per_packet(guest),
        per_packet(host),
        vmbus("messages_from_guest"),
        vmbus("messages_to_guest")
    ))
}

/// VTL calls the demo's VSM step makes: VTL 1's first entry, the compute request, the
/// protect request (TLFS 15.6.1).
const DEMO_VTL_CALLS: u64 = 3;

/// The VSM step's switches as the host counted them: [`DEMO_VTL_CALLS`] VTL calls, one
/// protection violation (the stopped write), and one VTL return per entry to VTL 1 (each
/// call and the intercept), with the intercept message delivered.
fn check_vsm(json: &Value) -> Result<String, String> {
    let calls = number(json, &["vtl_calls"]);
    let returns = number(json, &["vtl_returns"]);
    let violations = number(json, &["vtl_protection_violations"]);
    let lost = number(json, &["vtl_intercept_messages_lost"]);
    if calls != DEMO_VTL_CALLS || violations != 1 || returns != calls + violations || lost != 0 {
        return Err(format!(
            "VSM ok, but hv-sim counted {calls} VTL calls (expected {DEMO_VTL_CALLS}), \
             {violations} protection violations (expected 1), {returns} VTL returns (expected \
             one per entry to VTL 1) and {lost} lost intercept messages"
        ));
    }
    Ok(format!(
        "VSM: {calls} VTL calls, {returns} VTL returns, {violations} protection violation \
         delivered to VTL 1 as a memory intercept"
    ))
}

/// The crash hv-sim recorded for the `hv-crash` kernel: P0–P2 as the kernel wrote them and,
/// with `message`, P4 = the message length and the message text; without, P3 = 3, P4 = 4 and
/// no message.
pub(crate) fn check_crash(stats: &str, message: bool) -> Result<(), String> {
    let json = parse(stats)?;
    let crash = json
        .get("crash")
        .filter(|c| !c.is_null())
        .ok_or("hv-sim recorded no crash")?;
    let parameters: Vec<u64> = crash
        .get("parameters")
        .and_then(Value::as_array)
        .map(|p| {
            p.iter()
                .filter_map(Value::as_str)
                .filter_map(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
                .collect()
        })
        .unwrap_or_default();
    let text = crash.get("message").and_then(Value::as_str);
    let (p3, p4, expected_text) = if message {
        let gpa = parameters.get(3).copied().unwrap_or(0);
        (gpa, CRASH_MESSAGE.len() as u64, Some(CRASH_MESSAGE))
    } else {
        (3, 4, None)
    };
    let expected = [CRASH_P0, 1, 2, p3, p4];
    if parameters != expected || text != expected_text {
        return Err(format!(
            "crash recorded as {crash}, expected parameters {expected:#x?} and message \
             {expected_text:?}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERIAL: &str = "[hv] reference TSC page: ok (100000 reads, 100000 from the page)\n\
        [hv] SynIC: ok (message echoed on SINT4, event flag 0, 1000 echoes back in order)\n\
        [hv] VP assist page: ok (at 0x1000; EOI assist: 3 of 3 self-IPIs needed no EOI)\n";

    fn stats(counter_reads: u64, eoms: u64, skipped: u64) -> String {
        format!(
            "{{\"rdtsc\":100050,\"msr_read\":{{\"{TIME_REF_COUNT}\":{counter_reads}}},\
             \"msr_write\":{{\"{EOM}\":{eoms}}},\"hypercall\":{{\"0x0050/0x0000\":2}},\
             \"synic\":{{\"messages\":1011,\"pending_flags\":941,\"eoi_assist_set\":4,\
             \"eoi_assist_skipped\":{skipped}}},\"crash\":null}}"
        )
    }

    #[test]
    fn demo_counters_pass_and_fail_on_the_right_numbers() {
        let summary = check_demo(SERIAL, &stats(4, 941, 3)).unwrap();
        assert!(
            summary.contains("100000 page reads, 4 counter MSR reads"),
            "{summary}"
        );
        assert!(summary.contains("1000 echoes"), "{summary}");
        assert!(
            check_demo(SERIAL, &stats(100_004, 941, 3)).is_err(),
            "exits per read"
        );
        assert!(
            check_demo(SERIAL, &stats(4, 942, 3)).is_err(),
            "EOM without a flag"
        );
        assert!(
            check_demo(SERIAL, &stats(4, 941, 2)).is_err(),
            "skipped EOI not completed"
        );
        assert_eq!(check_demo("", &stats(4, 941, 3)).unwrap(), "");
    }

    #[test]
    fn crash_report_must_match_the_kernel() {
        let with = format!(
            "{{\"crash\":{{\"parameters\":[\"0x48564352\",\"0x1\",\"0x2\",\"0x3000\",\"{:#x}\"],\
             \"message\":\"{CRASH_MESSAGE}\"}}}}",
            CRASH_MESSAGE.len()
        );
        assert_eq!(check_crash(&with, true), Ok(()));
        assert!(check_crash(&with, false).is_err());
        let without = "{\"crash\":{\"parameters\":[\"0x48564352\",\"0x1\",\"0x2\",\"0x3\",\
                       \"0x4\"],\"message\":null}}";
        assert_eq!(check_crash(without, false), Ok(()));
        assert!(check_crash("{\"crash\":null}", false).is_err());
    }
}
