//! Instants as whole seconds since the Unix epoch, written in RFC 3339 UTC
//! (`2026-11-25T18:09:18Z`). The core never reads the clock: callers pass
//! the current time in, so tests can move it freely.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a date and time like 2026-11-25T18:09:18Z")]
pub struct TimestampError(pub String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn from_unix(seconds: i64) -> Self {
        Timestamp(seconds)
    }

    pub fn unix(self) -> i64 {
        self.0
    }

    pub fn plus_seconds(self, seconds: i64) -> Self {
        Timestamp(self.0.saturating_add(seconds))
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(f, "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    /// Reads `YYYY-MM-DDTHH:MM:SS` followed by `Z` or an offset `±HH:MM`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || TimestampError(text.to_string());
        let t = text.trim();
        let b = t.as_bytes();
        if b.len() < 20
            || b.get(4) != Some(&b'-')
            || b.get(7) != Some(&b'-')
            || !matches!(b.get(10), Some(b'T' | b't' | b' '))
            || b.get(13) != Some(&b':')
            || b.get(16) != Some(&b':')
        {
            return Err(err());
        }
        let num = |range: std::ops::Range<usize>| -> Result<i64, TimestampError> {
            let s = t.get(range).ok_or_else(err)?;
            if !s.bytes().all(|c| c.is_ascii_digit()) {
                return Err(err());
            }
            s.parse().map_err(|_| err())
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        let month_days = [
            31,
            if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        let max_day =
            month_days.get(usize::try_from(month - 1).map_err(|_| err())?).copied().ok_or_else(err)?;
        if !(1..=max_day).contains(&day) || hour > 23 || minute > 59 || second > 60 {
            return Err(err());
        }
        let offset = match t.get(19..) {
            Some("Z" | "z") => 0,
            Some(o) if o.len() == 6 && o.get(3..4) == Some(":") => {
                let sign = match o.get(0..1) {
                    Some("+") => 1,
                    Some("-") => -1,
                    _ => return Err(err()),
                };
                let (h, m) = (num(20..22)?, num(23..25)?);
                if h > 23 || m > 59 {
                    return Err(err());
                }
                sign * (h * 3600 + m * 60)
            }
            _ => return Err(err()),
        };
        let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second.min(59);
        // An offset can move an instant of year 0000 or 9999 out of four-digit
        // years, where it would print in a form that does not read back.
        let utc = seconds - offset;
        if !(days_from_civil(0, 1, 1) * 86_400..days_from_civil(10_000, 1, 1) * 86_400).contains(&utc) {
            return Err(err());
        }
        Ok(Timestamp(utc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp(1_795_630_158).to_string(), "2026-11-25T18:09:18Z");
        assert_eq!("2026-11-25T18:09:18Z".parse(), Ok(Timestamp(1_795_630_158)));
        assert_eq!("2026-11-26T03:09:18+09:00".parse(), Ok(Timestamp(1_795_630_158)));
        assert_eq!(
            "2000-02-29T00:00:00Z".parse::<Timestamp>().map(|t| t.to_string()),
            Ok("2000-02-29T00:00:00Z".to_string())
        );
    }

    #[test]
    fn refuses_impossible_dates() {
        for bad in [
            "2026-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-25 18:09Z",
            "2026-11-25T24:00:00Z",
            "yesterday",
            "2026-11-25T18:09:18",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad}");
        }
    }

    #[test]
    fn offsets_stay_within_four_digit_years() {
        assert!("0000-01-01T00:00:00+00:01".parse::<Timestamp>().is_err());
        assert!("9999-12-31T23:59:59-00:01".parse::<Timestamp>().is_err());
        for edge in ["0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z"] {
            assert_eq!(edge.parse::<Timestamp>().map(|t| t.to_string()).as_deref(), Ok(edge));
        }
    }

    #[test]
    fn round_trips_over_centuries() {
        for secs in (-5_000_000_000i64..8_000_000_000).step_by(86_399 * 97) {
            let t = Timestamp(secs);
            assert_eq!(t.to_string().parse(), Ok(t));
        }
    }
}
