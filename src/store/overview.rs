//! The spending overview of the history: totals per month and per
//! merchant of one currency over a period, summed in SQL over the
//! partial index `payment_spending` (settled payments only), and its CSV.
//!
//! What counts as spending: settled payments, the ones the bank reported
//! paid. A payment still open, rejected, declined or expired moved no
//! money and is left out. Months are the calendar months of the time zone
//! the caller gives (the user's, as the history shows times): a payment at
//! 08:00 on the 1st in Tokyo counts in that month, though it was still the
//! month before in UTC.

use std::io::Write;
use std::path::Path;

use jiff::tz::TimeZone;
use rusqlite::params;

use super::{Store, StoreError};
use crate::protocol::{Currency, Timestamp};

/// The periods the overview offers, in the calendar months of a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Period {
    /// This month and the eleven before it.
    #[default]
    Last12Months,
    /// From the first of January.
    ThisYear,
    All,
}

impl Period {
    pub const ALL: [Period; 3] = [Period::Last12Months, Period::ThisYear, Period::All];

    /// The query of this period in `currency`, seen at `now` in `zone`.
    pub fn query(self, currency: Currency, now: Timestamp, zone: &TimeZone) -> OverviewQuery {
        let this_month = month_of(zone, now.unix());
        let first = match (self, this_month) {
            (Period::Last12Months, Some(m)) => Some(m - 11),
            (Period::ThisYear, Some(m)) => Some(m - m.rem_euclid(12)),
            _ => None,
        };
        OverviewQuery { currency, from: first.and_then(|m| month_start(zone, m)), until: None }
    }
}

/// Which settled payments the overview sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverviewQuery {
    pub currency: Currency,
    /// From this time (Unix seconds, included), or from the first payment.
    pub from: Option<i64>,
    /// Up to this time (excluded), or to the last payment.
    pub until: Option<i64>,
}

/// An exact sum of amounts in minor units: wider than any one amount, so
/// that no number of payments overflows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Total {
    pub minor: u128,
    pub currency: Currency,
}

impl Total {
    /// The major-unit figure without the currency, as `Money` writes it.
    pub fn major_string(self) -> String {
        let exponent = u32::from(self.currency.exponent());
        if exponent == 0 {
            return self.minor.to_string();
        }
        let scale = 10u128.pow(exponent);
        format!("{}.{:0width$}", self.minor / scale, self.minor % scale, width = exponent as usize)
    }
}

/// A calendar month (of the zone asked in) and what was spent in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthTotal {
    /// `YYYY-MM`.
    pub month: String,
    pub payments: u64,
    pub total: Total,
}

/// A merchant and what was spent there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantTotal {
    pub merchant: String,
    /// Its name in the address book, if it is there.
    pub name: Option<String>,
    pub payments: u64,
    pub total: Total,
}

/// The spending in one currency over a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overview {
    pub query: OverviewQuery,
    /// Every month from the first to the last with spending, oldest first
    /// (months without any at zero, so that a chart shows the gaps).
    pub months: Vec<MonthTotal>,
    /// Merchants by total, largest first.
    pub merchants: Vec<MerchantTotal>,
    pub payments: u64,
    pub total: Total,
}

/// A month as a number (`year * 12 + month - 1`) written `YYYY-MM`.
fn month_text(number: i64) -> String {
    format!("{:04}-{:02}", number.div_euclid(12), number.rem_euclid(12) + 1)
}

/// The month (as a number) that holds the instant `at` (Unix seconds) in
/// `zone`; `None` past the years a calendar can hold.
fn month_of(zone: &TimeZone, at: i64) -> Option<i64> {
    let local = zone.to_datetime(jiff::Timestamp::from_second(at).ok()?);
    Some(i64::from(local.year()) * 12 + i64::from(local.month()) - 1)
}

/// The first second of month `number` in `zone` (midnight of the 1st, or
/// the first second after it where a clock change skips midnight).
fn month_start(zone: &TimeZone, number: i64) -> Option<i64> {
    let year = i16::try_from(number.div_euclid(12)).ok()?;
    let month = i8::try_from(number.rem_euclid(12) + 1).ok()?;
    let midnight = jiff::civil::DateTime::new(year, month, 1, 0, 0, 0, 0).ok()?;
    zone.to_ambiguous_timestamp(midnight).compatible().ok().map(|t| t.as_second())
}

impl Store {
    /// The currencies of settled payments, in code order.
    pub fn spending_currencies(&self) -> Result<Vec<Currency>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT currency FROM payment WHERE state = 'settled' ORDER BY currency")
            .map_err(|e| self.err(e))?;
        let codes = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(codes.iter().filter_map(|c| c.parse().ok()).collect())
    }

    /// Totals per month (the calendar months of `zone`) and per merchant
    /// of the settled payments in `query`'s currency and period.
    pub fn overview(&self, query: &OverviewQuery, zone: &TimeZone) -> Result<Overview, StoreError> {
        const WHERE: &str = "state = 'settled' AND currency = ?1
             AND created >= coalesce(?2, -9223372036854775808) AND created < coalesce(?3, 9223372036854775807)";
        let args = params![query.currency.code(), query.from, query.until];
        let span = self
            .conn
            .prepare_cached(&format!("SELECT min(created), max(created) FROM payment WHERE {WHERE}"))
            .and_then(|mut stmt| stmt.query_row(args, |r| Ok((r.get::<_, Option<i64>>(0)?, r.get(1)?))))
            .map_err(|e| self.err(e))?;
        let empty = Total { minor: 0, currency: query.currency };
        let (Some(first), Some(last)) = span else {
            return Ok(Overview {
                query: *query,
                months: Vec::new(),
                merchants: Vec::new(),
                payments: 0,
                total: empty,
            });
        };
        // The months that hold the payments, each with its first second
        // and the next month's: the SQL counts each payment in the month
        // whose span holds it, through the partial index.
        let outside = || StoreError::Corrupt(format!("{first}..{last}"), "a time no calendar holds".into());
        let (lo, hi) =
            (month_of(zone, first).ok_or_else(outside)?, month_of(zone, last).ok_or_else(outside)?);
        let starts = (lo..=hi + 1)
            .map(|n| month_start(zone, n).map(|start| (n, start)))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(outside)?;
        let spans: Vec<String> =
            starts.windows(2).map(|w| format!("({}, {}, {})", w[0].0, w[0].1, w[1].1)).collect();
        // Each amount is summed in two halves (above and below 2^32) so that
        // SQLite's 64-bit sums cannot overflow; they are put together in
        // 128 bits here.
        let mut stmt = self
            .conn
            .prepare(&format!(
                "WITH months(number, first, next) AS (VALUES {})
                 SELECT g.number, g.merchant, m.name, g.n, g.high, g.low FROM (
                     SELECT months.number AS number, merchant, COUNT(*) AS n,
                         SUM(amount_minor >> 32) AS high, SUM(amount_minor & 4294967295) AS low
                     FROM months JOIN payment ON created >= months.first AND created < months.next
                     WHERE {WHERE}
                     GROUP BY months.number, merchant
                 ) g LEFT JOIN merchant m ON m.address = g.merchant",
                spans.join(", ")
            ))
            .map_err(|e| self.err(e))?;
        let groups = stmt
            .query_map(args, |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;

        let too_large = || StoreError::TotalTooLarge(query.currency.code().to_string());
        let add = |sum: &mut u128, n: &mut u64, minor: u128, count: u64| -> Result<(), StoreError> {
            *sum = sum.checked_add(minor).ok_or_else(too_large)?;
            *n = n.checked_add(count).ok_or_else(too_large)?;
            Ok(())
        };
        let mut months: std::collections::BTreeMap<i64, (u128, u64)> = Default::default();
        let mut merchants: std::collections::BTreeMap<String, (Option<String>, u128, u64)> =
            Default::default();
        let (mut all, mut payments) = (0u128, 0u64);
        for (number, merchant, name, n, high, low) in groups {
            let corrupt = || {
                StoreError::Corrupt(format!("{} {merchant}", month_text(number)), "a negative amount".into())
            };
            let (high, low, n) = (
                u128::try_from(high).map_err(|_| corrupt())?,
                u128::try_from(low).map_err(|_| corrupt())?,
                u64::try_from(n).map_err(|_| corrupt())?,
            );
            let minor = (high << 32).checked_add(low).ok_or_else(too_large)?;
            let m = months.entry(number).or_default();
            add(&mut m.0, &mut m.1, minor, n)?;
            let e = merchants.entry(merchant).or_insert_with(|| (name, 0, 0));
            add(&mut e.1, &mut e.2, minor, n)?;
            add(&mut all, &mut payments, minor, n)?;
        }
        let total = |minor| Total { minor, currency: query.currency };
        let months = match (months.keys().next(), months.keys().next_back()) {
            (Some(&first), Some(&last)) => (first..=last)
                .map(|number| {
                    let (minor, payments) = months.get(&number).copied().unwrap_or_default();
                    MonthTotal { month: month_text(number), payments, total: total(minor) }
                })
                .collect(),
            _ => Vec::new(),
        };
        let mut merchants: Vec<MerchantTotal> = merchants
            .into_iter()
            .map(|(merchant, (name, minor, payments))| MerchantTotal {
                merchant,
                name,
                payments,
                total: total(minor),
            })
            .collect();
        merchants.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.merchant.cmp(&b.merchant)));
        Ok(Overview { query: *query, months, merchants, payments, total: total(all) })
    }

    /// Writes the overview of `query` as CSV (RFC 4180) to `path`,
    /// atomically: one table a spreadsheet sorts and filters as it is,
    /// a row per month then a row per merchant, told apart by the first
    /// column (`month` or `merchant`); returns how many rows.
    ///
    /// `group,key,name,currency,payments,total`: `key` is `YYYY-MM` or the
    /// merchant's address, `name` the merchant's name, `total` in major
    /// units (`12.50`).
    pub fn export_overview_csv(
        &self,
        query: &OverviewQuery,
        zone: &TimeZone,
        path: &Path,
    ) -> Result<usize, StoreError> {
        let overview = self.overview(query, zone)?;
        let io = |e: std::io::Error| StoreError::Sqlite { path: path.to_path_buf(), reason: e.to_string() };
        let temp = path.with_extension("csv.tmp");
        let mut file = std::io::BufWriter::new(std::fs::File::create(&temp).map_err(io)?);
        writeln!(file, "group,key,name,currency,payments,total").map_err(io)?;
        let code = query.currency.code();
        let months =
            overview.months.iter().map(|m| ("month", m.month.clone(), String::new(), m.payments, m.total));
        let merchants = overview.merchants.iter().map(|m| {
            ("merchant", m.merchant.clone(), m.name.clone().unwrap_or_default(), m.payments, m.total)
        });
        let mut rows = 0;
        for (group, key, name, payments, total) in months.chain(merchants) {
            let fields =
                [group.to_string(), key, name, code.to_string(), payments.to_string(), total.major_string()];
            let line: Vec<String> = fields.iter().map(|f| super::history::csv_field(f)).collect();
            writeln!(file, "{}", line.join(",")).map_err(io)?;
            rows += 1;
        }
        let file = file.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&temp, path).map_err(io)?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn months_count_across_years() {
        assert_eq!(month_text(2026 * 12 - 1), "2025-12");
        assert_eq!(month_text(1970 * 12 + 6), "1970-07");
        let yen = Total { minor: 1234, currency: "JPY".parse().unwrap() };
        assert_eq!(yen.major_string(), "1234");
        let euro = Total { minor: u128::from(u64::MAX) * 3, currency: "EUR".parse().unwrap() };
        assert_eq!(euro.major_string(), "553402322211286548.45");
    }

    #[test]
    fn a_month_is_the_zones_calendar_month() {
        let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
        let new_york = TimeZone::get("America/New_York").unwrap();
        let at = |t: &str| t.parse::<Timestamp>().unwrap().unix();
        // 08:00 on 1 December in Tokyo is still November in UTC.
        let late = at("2026-11-30T23:00:00Z");
        assert_eq!(month_of(&TimeZone::UTC, late).map(month_text).as_deref(), Some("2026-11"));
        assert_eq!(month_of(&tokyo, late).map(month_text).as_deref(), Some("2026-12"));
        assert_eq!(month_start(&tokyo, 2026 * 12 + 11), Some(at("2026-11-30T15:00:00Z")));
        // New York's months start at its midnight, in winter and in summer time.
        assert_eq!(month_start(&new_york, 2026 * 12), Some(at("2026-01-01T05:00:00Z")));
        assert_eq!(month_start(&new_york, 2026 * 12 + 6), Some(at("2026-07-01T04:00:00Z")));
    }

    #[test]
    fn periods_start_on_the_first_of_a_month() {
        let yen: Currency = "JPY".parse().unwrap();
        let utc = TimeZone::UTC;
        let now: Timestamp = "2026-03-15T10:00:00Z".parse().unwrap();
        let start =
            |period: Period| period.query(yen, now, &utc).from.map(|t| Timestamp::from_unix(t).to_string());
        assert_eq!(start(Period::Last12Months).as_deref(), Some("2025-04-01T00:00:00Z"));
        assert_eq!(start(Period::ThisYear).as_deref(), Some("2026-01-01T00:00:00Z"));
        assert_eq!(start(Period::All), None);
        let january: Timestamp = "2026-01-31T23:59:59Z".parse().unwrap();
        assert_eq!(Period::ThisYear.query(yen, january, &utc).from, Some(january.unix() - 31 * 86_400 + 1));
        // In Tokyo that instant is already February, and this year began
        // at Tokyo's midnight.
        let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
        let this_year = Period::ThisYear.query(yen, january, &tokyo).from;
        assert_eq!(
            this_year.map(|t| Timestamp::from_unix(t).to_string()).as_deref(),
            Some("2025-12-31T15:00:00Z")
        );
    }
}
