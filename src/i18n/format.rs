//! Times and amounts as each language writes them. Pure: the time zone and
//! the present are parameters, so the same instant reads the same in every
//! test, and only the window ([`Tr`](super::Tr)) knows the system's zone
//! and clock.
//!
//! - Times: "6 Dec 2026, 12:00" in English, "2026年12月6日 12:00" in
//!   Japanese, in the given zone (24-hour clock, no seconds).
//! - How far away: "in 23 hours", "5 minutes ago"; "23時間後", "5分前";
//!   cut down to the whole unit, so a deadline never reads later than it is.
//! - Money: from the integer minor units and the currency's ISO 4217
//!   exponent, grouped by thousands, never through a float. English puts
//!   the symbol of the yen, dollar, euro and pound before the figure
//!   ("¥1,200", "$12.50") and the code before any other ("CHF 12.50");
//!   Japanese writes the yen as 円 after it ("1,200円"), the dollar, euro
//!   and pound with their symbols before it ("$12.50": the wallet names
//!   no other dollar by symbol), and the code after any other
//!   ("12.50 CHF").

use jiff::tz::TimeZone;

use super::Lang;
use crate::protocol::item::LineItem;
use crate::protocol::{Currency, Money, Timestamp};

const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// `at` in `zone`, as `lang` writes a date and time.
pub fn time(lang: Lang, zone: &TimeZone, at: Timestamp) -> String {
    let Ok(instant) = jiff::Timestamp::from_second(at.unix()) else {
        // Outside the years a calendar can show: the stamp itself.
        return at.to_string();
    };
    let local = zone.to_datetime(instant);
    let (year, day, hour, minute) = (local.year(), local.day(), local.hour(), local.minute());
    let month = local.month();
    match lang {
        Lang::En => {
            let name = MONTHS.get(usize::try_from(month - 1).unwrap_or(0)).copied().unwrap_or("");
            format!("{day} {name} {year}, {hour:02}:{minute:02}")
        }
        Lang::Ja => format!("{year}年{month}月{day}日 {hour:02}:{minute:02}"),
    }
}

/// How far `at` is from `now`: "in 23 hours" ahead, "2 days ago" behind.
pub fn relative(lang: Lang, at: Timestamp, now: Timestamp) -> String {
    let seconds = at.unix().saturating_sub(now.unix());
    let ahead = seconds >= 0;
    let distance = seconds.unsigned_abs();
    let (count, unit) = match distance {
        0..60 => (0, Unit::Moment),
        60..3_600 => (distance / 60, Unit::Minute),
        3_600..86_400 => (distance / 3_600, Unit::Hour),
        _ => (distance / 86_400, Unit::Day),
    };
    match lang {
        Lang::En => {
            let span = match unit {
                Unit::Moment => "less than a minute".to_string(),
                Unit::Minute => english_count(count, "minute"),
                Unit::Hour => english_count(count, "hour"),
                Unit::Day => english_count(count, "day"),
            };
            if ahead { format!("in {span}") } else { format!("{span} ago") }
        }
        Lang::Ja => {
            let span = match unit {
                Unit::Moment => return if ahead { "1分以内".into() } else { "たった今".into() },
                Unit::Minute => format!("{count}分"),
                Unit::Hour => format!("{count}時間"),
                Unit::Day => format!("{count}日"),
            };
            if ahead { format!("{span}後") } else { format!("{span}前") }
        }
    }
}

enum Unit {
    Moment,
    Minute,
    Hour,
    Day,
}

fn english_count(count: u64, unit: &str) -> String {
    if count == 1 { format!("1 {unit}") } else { format!("{count} {unit}s") }
}

/// A time limit: when, and how far from `now`, e.g. "7 Dec 2026, 12:00
/// (in 23 hours)".
pub fn deadline(lang: Lang, zone: &TimeZone, at: Timestamp, now: Timestamp) -> String {
    let (when, far) = (time(lang, zone, at), relative(lang, at, now));
    match lang {
        Lang::En => format!("{when} ({far})"),
        Lang::Ja => format!("{when}（{far}）"),
    }
}

/// An item line with its unit price as `lang` writes it: "2 × Green tea
/// @ ¥600".
pub fn item(lang: Lang, item: &LineItem) -> String {
    let line = format!("{} × {}", item.quantity, item.description);
    match &item.unit_price {
        Some(price) => format!("{line} @ {}", money(lang, price)),
        None => line,
    }
}

/// An amount as `lang` writes it.
pub fn money(lang: Lang, money: &Money) -> String {
    minor_units(lang, i128::from(money.minor()), money.currency())
}

/// `minor` units of `currency` (negative for money going the other way),
/// as `lang` writes them.
pub fn minor_units(lang: Lang, minor: i128, currency: Currency) -> String {
    let figure = figure(minor.unsigned_abs(), currency.exponent());
    let sign = if minor < 0 { "-" } else { "" };
    let code = currency.code();
    let symbol = match code {
        "USD" => Some("$"),
        "EUR" => Some("€"),
        "GBP" => Some("£"),
        "JPY" if lang == Lang::En => Some("¥"),
        _ => None,
    };
    match (lang, symbol) {
        (_, Some(symbol)) => format!("{sign}{symbol}{figure}"),
        (Lang::Ja, None) if code == "JPY" => format!("{sign}{figure}円"),
        (Lang::En, None) => format!("{sign}{code} {figure}"),
        (Lang::Ja, None) => format!("{sign}{figure} {code}"),
    }
}

/// The major-unit figure of `minor` units, thousands grouped with commas:
/// `figure(123456789, 2)` is "1,234,567.89".
fn figure(minor: u128, exponent: u8) -> String {
    let digits = minor.to_string();
    let places = usize::from(exponent);
    // At least one digit before the decimal point: 5 cents are "0.05".
    let digits = format!("{digits:0>width$}", width = places + 1);
    let (whole, fraction) = digits.split_at(digits.len() - places);
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3 + fraction.len() + 1);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if !fraction.is_empty() {
        grouped.push('.');
        grouped.push_str(fraction);
    }
    grouped
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn zone(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn at(stamp: &str) -> Timestamp {
        stamp.parse().unwrap()
    }

    fn amount(text: &str) -> Money {
        text.parse().unwrap()
    }

    fn cur(code: &str) -> Currency {
        code.parse().unwrap()
    }

    #[test]
    fn times_in_the_users_zone_and_language() {
        let stamp = at("2026-12-06T03:00:41Z");
        assert_eq!(time(Lang::En, &TimeZone::UTC, stamp), "6 Dec 2026, 03:00");
        assert_eq!(time(Lang::En, &zone("Asia/Tokyo"), stamp), "6 Dec 2026, 12:00");
        assert_eq!(time(Lang::Ja, &zone("Asia/Tokyo"), stamp), "2026年12月6日 12:00");
        // New York in winter is 5 hours behind UTC: the day before.
        assert_eq!(time(Lang::En, &zone("America/New_York"), stamp), "5 Dec 2026, 22:00");
        assert_eq!(time(Lang::Ja, &zone("America/New_York"), stamp), "2026年12月5日 22:00");
    }

    #[test]
    fn summer_time_moves_the_clock() {
        let new_york = zone("America/New_York");
        // Summer: 4 hours behind UTC.
        assert_eq!(time(Lang::En, &new_york, at("2026-07-04T16:30:00Z")), "4 Jul 2026, 12:30");
        // The night the clocks go back (1 November 2026, 2:00 EDT → 1:00 EST).
        assert_eq!(time(Lang::En, &new_york, at("2026-11-01T05:30:00Z")), "1 Nov 2026, 01:30");
        assert_eq!(time(Lang::En, &new_york, at("2026-11-01T06:30:00Z")), "1 Nov 2026, 01:30");
        assert_eq!(time(Lang::En, &new_york, at("2026-11-01T07:30:00Z")), "1 Nov 2026, 02:30");
        // Tokyo keeps no summer time.
        assert_eq!(time(Lang::Ja, &zone("Asia/Tokyo"), at("2026-07-04T16:30:00Z")), "2026年7月5日 01:30");
    }

    #[test]
    fn relative_times_cut_down_to_the_whole_unit() {
        let now = at("2026-12-06T03:00:41Z");
        let cases = [
            (0, "in less than a minute", "1分以内"),
            (59, "in less than a minute", "1分以内"),
            (60, "in 1 minute", "1分後"),
            (5 * 60 + 59, "in 5 minutes", "5分後"),
            (3_599, "in 59 minutes", "59分後"),
            (3_600, "in 1 hour", "1時間後"),
            (23 * 3_600, "in 23 hours", "23時間後"),
            (86_399, "in 23 hours", "23時間後"),
            (86_400, "in 1 day", "1日後"),
            (2 * 86_400, "in 2 days", "2日後"),
            (-1, "less than a minute ago", "たった今"),
            (-59, "less than a minute ago", "たった今"),
            (-5 * 60, "5 minutes ago", "5分前"),
            (-3_600, "1 hour ago", "1時間前"),
            (-2 * 86_400 - 3_000, "2 days ago", "2日前"),
        ];
        for (seconds, en, ja) in cases {
            let then = now.plus_seconds(seconds);
            assert_eq!(relative(Lang::En, then, now), en, "{seconds} s");
            assert_eq!(relative(Lang::Ja, then, now), ja, "{seconds} s");
        }
    }

    #[test]
    fn a_deadline_says_when_and_how_far() {
        let now = at("2026-12-06T03:00:41Z");
        let expires = at("2026-12-07T03:00:41Z").plus_seconds(-3_600);
        let tokyo = zone("Asia/Tokyo");
        assert_eq!(deadline(Lang::En, &tokyo, expires, now), "7 Dec 2026, 11:00 (in 23 hours)");
        assert_eq!(deadline(Lang::Ja, &tokyo, expires, now), "2026年12月7日 11:00（23時間後）");
        let past = now.plus_seconds(-2 * 86_400);
        assert_eq!(deadline(Lang::En, &TimeZone::UTC, past, now), "4 Dec 2026, 03:00 (2 days ago)");
    }

    #[test]
    fn money_with_0_2_and_3_decimals() {
        let cases = [
            ("1200 JPY", "¥1,200", "1,200円"),
            ("12.50 USD", "$12.50", "$12.50"),
            ("12.50 EUR", "€12.50", "€12.50"),
            ("12.50 GBP", "£12.50", "£12.50"),
            ("12.50 CHF", "CHF 12.50", "12.50 CHF"),
            ("1.250 BHD", "BHD 1.250", "1.250 BHD"),
            ("0.005 KWD", "KWD 0.005", "0.005 KWD"),
            ("0.05 EUR", "€0.05", "€0.05"),
            ("5 KRW", "KRW 5", "5 KRW"),
        ];
        for (stored, en, ja) in cases {
            assert_eq!(money(Lang::En, &amount(stored)), en);
            assert_eq!(money(Lang::Ja, &amount(stored)), ja);
        }
    }

    #[test]
    fn large_amounts_are_grouped_by_thousands() {
        assert_eq!(money(Lang::En, &amount("1234567 JPY")), "¥1,234,567");
        assert_eq!(money(Lang::Ja, &amount("999999999999 JPY")), "999,999,999,999円");
        assert_eq!(money(Lang::En, &amount("1000000.00 USD")), "$1,000,000.00");
        assert_eq!(money(Lang::Ja, &amount("123456.789 KWD")), "123,456.789 KWD");
        assert_eq!(money(Lang::En, &amount("100000 JPY")), "¥100,000");
        assert_eq!(money(Lang::En, &amount("999 JPY")), "¥999");
    }

    #[test]
    fn zero_and_negative_amounts() {
        assert_eq!(minor_units(Lang::En, 0, cur("JPY")), "¥0");
        assert_eq!(minor_units(Lang::Ja, 0, cur("USD")), "$0.00");
        assert_eq!(minor_units(Lang::En, 0, cur("BHD")), "BHD 0.000");
        assert_eq!(minor_units(Lang::En, -1_250, cur("USD")), "-$12.50");
        assert_eq!(minor_units(Lang::Ja, -1_200_000, cur("JPY")), "-1,200,000円");
        assert_eq!(minor_units(Lang::Ja, -1_250, cur("CHF")), "-12.50 CHF");
    }

    #[test]
    fn item_lines_carry_their_price_as_the_language_writes_it() {
        let tea: LineItem = "2 x Green tea 100g @ 1600 JPY".parse().unwrap();
        assert_eq!(item(Lang::En, &tea), "2 × Green tea 100g @ ¥1,600");
        assert_eq!(item(Lang::Ja, &tea), "2 × Green tea 100g @ 1,600円");
        let bare: LineItem = "Gift wrapping".parse().unwrap();
        assert_eq!(item(Lang::Ja, &bare), "1 × Gift wrapping");
    }

    #[test]
    fn the_stored_minor_units_do_not_change() {
        let stored = amount("1234.56 USD");
        let _ = money(Lang::Ja, &stored);
        assert_eq!(stored.minor(), 123_456);
        assert_eq!(stored.to_string(), "1234.56 USD", "the wire form stays as it was");
    }
}
