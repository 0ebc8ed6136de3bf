//! Durations and data sizes written the way Spring Boot reads them.
//!
//! Durations: a bare number in the property's default unit (milliseconds for every Kafka key
//! here: `3000`), a number with a unit (`500ms`, `3s`, `2m`, `1h`, `1d`, `10us`, `10ns`), or
//! ISO-8601 (`PT3S`, `PT0.5S`, `P1DT2H`). Sizes: a bare number of bytes or `B`, `KB`, `MB`,
//! `GB`, `TB` (powers of 1024, as Spring's `DataSize`).

use std::time::Duration;

/// What the duration parser accepts, for error messages.
pub(crate) const DURATION_FORMS: &str =
    "a number of milliseconds (3000), a number with a unit ns|us|ms|s|m|h|d (500ms, 3s), or ISO-8601 (PT3S)";

/// What the size parser accepts, for error messages.
pub(crate) const SIZE_FORMS: &str =
    "a number of bytes (1024) or a number with a unit B|KB|MB|GB|TB (64KB)";

/// What the duration parser accepts for a key whose bare numbers are seconds.
pub(crate) const DURATION_FORMS_SECONDS: &str =
    "a number of seconds (30), a number with a unit ns|us|ms|s|m|h|d (500ms, 3s), or ISO-8601 (PT3S)";

/// Parses a Spring duration; a bare number is milliseconds.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    parse_duration_in(text, 1_000_000)
}

/// Parses a Spring duration for a key annotated `@DurationUnit(SECONDS)`: a bare number is
/// seconds.
pub(crate) fn parse_duration_seconds(text: &str) -> Option<Duration> {
    parse_duration_in(text, 1_000_000_000)
}

/// Parses a Spring duration; a bare number counts `default_unit_nanos`.
fn parse_duration_in(text: &str, default_unit_nanos: u128) -> Option<Duration> {
    let text = text.trim();
    if text.starts_with(['P', 'p']) || text.starts_with("+P") || text.starts_with("+p") {
        return parse_iso_duration(text.trim_start_matches('+'));
    }
    let text = text.strip_prefix('+').unwrap_or(text);
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    if digits_end == 0 {
        return None;
    }
    let amount: u64 = text[..digits_end].parse().ok()?;
    let unit = text[digits_end..].to_ascii_lowercase();
    let nanos_per_unit: u128 = match unit.as_str() {
        "" => default_unit_nanos,
        "ms" => 1_000_000,
        "ns" => 1,
        "us" => 1_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "d" => 86_400_000_000_000,
        _ => return None,
    };
    duration_from_nanos(u128::from(amount) * nanos_per_unit)
}

fn duration_from_nanos(nanos: u128) -> Option<Duration> {
    let secs = u64::try_from(nanos / 1_000_000_000).ok()?;
    Some(Duration::new(secs, (nanos % 1_000_000_000) as u32))
}

/// `PnDTnHnMn.nS` (each part optional, at least one present, no negatives).
fn parse_iso_duration(text: &str) -> Option<Duration> {
    let body = &text[1..];
    let (date, time) = match body.find(['T', 't']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mut nanos: u128 = 0;
    let mut any = false;
    if !date.is_empty() {
        let days = date.strip_suffix(['D', 'd'])?;
        nanos += u128::from(days.parse::<u64>().ok()?) * 86_400_000_000_000;
        any = true;
    }
    if let Some(mut time) = time {
        if time.is_empty() {
            return None;
        }
        for (suffixes, unit) in [
            (['H', 'h'], 3_600_000_000_000u128),
            (['M', 'm'], 60_000_000_000),
        ] {
            if let Some(i) = time.find(suffixes) {
                nanos += u128::from(time[..i].parse::<u64>().ok()?) * unit;
                time = &time[i + 1..];
                any = true;
            }
        }
        if !time.is_empty() {
            let seconds = time.strip_suffix(['S', 's'])?;
            let (whole, fraction) = match seconds.find(['.', ',']) {
                Some(i) => (&seconds[..i], &seconds[i + 1..]),
                None => (seconds, ""),
            };
            if fraction.len() > 9 || !fraction.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            nanos += u128::from(whole.parse::<u64>().ok()?) * 1_000_000_000;
            if !fraction.is_empty() {
                nanos += u128::from(format!("{fraction:0<9}").parse::<u64>().ok()?);
            }
            any = true;
        }
    }
    if any {
        duration_from_nanos(nanos)
    } else {
        None
    }
}

/// Parses a Spring data size into bytes; a bare number is bytes.
pub(crate) fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let text = text.strip_prefix('+').unwrap_or(text);
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    if digits_end == 0 {
        return None;
    }
    let amount: u64 = text[..digits_end].parse().ok()?;
    let multiplier: u64 = match text[digits_end..].to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "KB" => 1 << 10,
        "MB" => 1 << 20,
        "GB" => 1 << 30,
        "TB" => 1 << 40,
        _ => return None,
    };
    amount.checked_mul(multiplier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_every_spring_form() {
        assert_eq!(parse_duration("3000"), Some(Duration::from_millis(3000)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("3s"), Some(Duration::from_secs(3)));
        assert_eq!(parse_duration("3S"), Some(Duration::from_secs(3)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("PT3S"), Some(Duration::from_secs(3)));
        assert_eq!(parse_duration("PT0.5S"), Some(Duration::from_millis(500)));
        assert_eq!(
            parse_duration("P1DT2H3M"),
            Some(Duration::from_secs(86_400 + 7_200 + 180))
        );
    }

    #[test]
    fn bad_durations_are_refused() {
        for bad in [
            "",
            "3 parsecs",
            "-3s",
            "PT",
            "P",
            "PTS",
            "s",
            "PT1.1234567891S",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn sizes_are_binary_multiples() {
        assert_eq!(parse_size("1"), Some(1));
        assert_eq!(parse_size("64KB"), Some(65_536));
        assert_eq!(parse_size("2MB"), Some(2 << 20));
        assert_eq!(parse_size("2 MB"), None);
        assert_eq!(parse_size("99999999999TB"), None);
    }
}
