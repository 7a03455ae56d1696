//! The history of payments as the wallet shows it: filtered and ordered in
//! SQL so that a search over 100,000 payments answers within a frame (the
//! text through the FTS5 table `payment_search`, or for one or two
//! characters and texts that match many payments through the folded
//! `payment.search_text` and its covering index `payment_text`; the state
//! and the order through indexes on state and creation time), each
//! payment's timeline of mails, and CSV export.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use rusqlite::params;

use super::{Store, StoreError};
use crate::protocol::{Kind, Money, OrderId};

/// What the history list asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Matched anywhere in the order id, the merchant's address or name,
    /// in any case (for one or two characters, in any case of ASCII
    /// letters only); every character is one to find.
    pub text: String,
    /// One state name (`settled`, `awaiting-confirmation`…), or all.
    pub state: Option<String>,
    /// At most this many rows (newest first); the count covers all matches.
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub order: String,
    pub merchant: String,
    pub merchant_name: Option<String>,
    /// `None` only if the stored amount is not valid money.
    pub amount: Option<Money>,
    pub state: String,
    pub detail: Option<String>,
    pub created: i64,
}

/// One page of the history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub rows: Vec<Row>,
    /// How many payments match in all.
    pub total: usize,
}

/// Which way a mail went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Sent,
    Received,
}

/// One mail in a payment's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub at: i64,
    pub direction: Direction,
    pub kind: String,
    /// The recipient of a sent mail; the sender of a received one.
    pub peer: String,
    /// `accepted`, `queued`, the last send error, or what receiving did.
    pub status: String,
    pub message_id: String,
    pub raw: Vec<u8>,
}

/// How the search text is matched.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Search {
    /// No text: every payment.
    All,
    /// A NUL character, which no payment holds (and which SQLite would
    /// take for the end of the text).
    Nothing,
    /// Three characters or more: an FTS5 query of `payment_search`, the
    /// whole text as one quoted string, so that what is typed (quotes,
    /// `OR`, `*`, `NEAR(`, `order:`) is only ever characters to find; and
    /// the text as [`fold`] folds it if it is then ASCII (and holds no
    /// line feed), for when it
    /// matches many payments (instr() over `payment.search_text` finds
    /// just what the index finds).
    Index(String, Option<String>),
    /// One or two characters, fewer than a trigram: the text as [`fold`]
    /// folds it, found with instr() over `payment.search_text` through
    /// the covering index `payment_text`, newest first.
    Short(String),
    /// A LIKE pattern over the columns themselves: what the tests compare
    /// the index and the folded text with.
    #[cfg(test)]
    Scan(String),
}

impl Search {
    fn of(text: &str) -> Search {
        let text = text.trim();
        if text.contains('\0') {
            return Search::Nothing;
        }
        match text.chars().count() {
            0 => Search::All,
            1 | 2 => Search::Short(fold(text)),
            _ => {
                let folded = fold(text);
                // A line feed, which parts the fields in `search_text`,
                // would find text across two of them.
                let plain = folded.is_ascii() && !folded.contains('\n');
                Search::Index(fts_string(text), plain.then_some(folded))
            }
        }
    }
}

/// `text` folded as `payment.search_text` is (schema step 6): ASCII
/// letters in lower case, and the Kelvin sign and long s, which the
/// trigram tokenizer folds to `k` and `s`, as those. For ASCII text this
/// is the tokenizer's folding exactly; other characters are kept as they
/// are.
fn fold(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{212A}' => 'k',
            '\u{17F}' => 's',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// `text` as one FTS5 string: in double quotes, a quote doubled. The
/// trigram tokenizer matches it as a substring of a column.
fn fts_string(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// The columns of a [`Row`].
const COLUMNS: &str =
    "p.order_id, p.merchant, m.name, p.amount_minor, p.currency, p.state, p.detail, p.created";
/// Payments as filtered by `?1` (the search) and `?2` (the state): the
/// matches taken from the index, then sorted.
const BY_INDEX: &str = "FROM payment p LEFT JOIN merchant m ON m.address = p.merchant
     WHERE p.rowid IN (SELECT rowid FROM payment_search WHERE payment_search MATCH ?1)
       AND (?2 IS NULL OR p.state = ?2)";
/// From how many matches a search by the index takes [`Store::broad_page`].
const BROAD: usize = 2_000;
/// How many payments of state `?2` a search by the index matches.
const INDEX_COUNT_STATE: &str = "SELECT COUNT(*) FROM payment p
     WHERE p.rowid IN (SELECT rowid FROM payment_search WHERE payment_search MATCH ?1) AND p.state = ?2";
/// Payments whose folded text holds `?1` (or all, if empty) and of state
/// `?2` (or all), newest first over the covering index `payment_text`.
const BY_TEXT: &str = "FROM payment p INDEXED BY payment_text LEFT JOIN merchant m ON m.address = p.merchant
     WHERE (?1 = '' OR instr(p.search_text, ?1) > 0) AND (?2 IS NULL OR p.state = ?2)";
/// How many payments [`BY_TEXT`] finds, from the covering index alone.
const TEXT_COUNT: &str = "SELECT COUNT(*) FROM payment p INDEXED BY payment_text
     WHERE (?1 = '' OR instr(p.search_text, ?1) > 0) AND (?2 IS NULL OR p.state = ?2)";
/// How many payments after the one of creation time `?3` and order id
/// `?4` in the history's order [`BY_TEXT`] finds: the rest of the
/// covering index past a full page.
const TEXT_COUNT_AFTER: &str = "SELECT COUNT(*) FROM payment p INDEXED BY payment_text
     WHERE p.created <= ?3 AND (p.created < ?3 OR p.order_id > ?4)
       AND instr(p.search_text, ?1) > 0 AND (?2 IS NULL OR p.state = ?2)";
/// Payments of state `?2` (or all).
const BY_ALL: &str =
    "FROM payment p LEFT JOIN merchant m ON m.address = p.merchant WHERE (?2 IS NULL OR p.state = ?2)";
/// Payments as filtered by `?1` (a LIKE pattern, or empty for all) and
/// `?2` (the state).
#[cfg(test)]
const BY_SCAN: &str = "FROM payment p LEFT JOIN merchant m ON m.address = p.merchant
     WHERE (?1 = '' OR p.order_id LIKE ?1 ESCAPE '\\' OR p.merchant LIKE ?1 ESCAPE '\\' OR m.name LIKE ?1 ESCAPE '\\')
       AND (?2 IS NULL OR p.state = ?2)";

#[cfg(test)]
fn like_pattern(text: &str) -> String {
    let escaped: String = text
        .chars()
        .flat_map(|c| if matches!(c, '%' | '_' | '\\') { vec!['\\', c] } else { vec![c] })
        .collect();
    format!("%{escaped}%")
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    let minor: i64 = r.get(3)?;
    let currency: String = r.get(4)?;
    let amount = currency.parse().ok().and_then(|c| Money::new(u64::try_from(minor).ok()?, c).ok());
    Ok(Row {
        order: r.get(0)?,
        merchant: r.get(1)?,
        merchant_name: r.get(2)?,
        amount,
        state: r.get(5)?,
        detail: r.get(6)?,
        created: r.get(7)?,
    })
}

impl Store {
    /// The newest payments matching `query`, and how many match in all.
    pub fn history(&self, query: &Query) -> Result<Page, StoreError> {
        self.page(&Search::of(&query.text), query)
    }

    fn page(&self, search: &Search, query: &Query) -> Result<Page, StoreError> {
        let (filter, text) = match search {
            Search::All => (BY_ALL, ""),
            Search::Nothing => return Ok(Page::default()),
            #[cfg(test)]
            Search::Scan(pattern) => (BY_SCAN, pattern.as_str()),
            Search::Short(folded) => return self.text_page(folded, query),
            Search::Index(fts, _) => (BY_INDEX, fts.as_str()),
        };
        let mut total = None;
        if let Search::Index(fts, folded) = search {
            // For ASCII text, only until it is known to match many.
            let most = if folded.is_some() { BROAD } else { usize::MAX };
            let matches: HashSet<i64> = self
                .conn
                .prepare_cached("SELECT rowid FROM payment_search WHERE payment_search MATCH ?1 LIMIT ?2")
                .and_then(|mut s| {
                    s.query_map(params![fts, i64::try_from(most).unwrap_or(i64::MAX)], |r| r.get(0))?
                        .collect()
                })
                .map_err(|e| self.err(e))?;
            if matches.len() >= BROAD {
                return match folded {
                    Some(folded) => self.text_page(folded, query),
                    None => self.broad_page(&matches, query),
                };
            }
            if query.state.is_none() {
                total = Some(matches.len());
            }
        }
        let total = match total {
            Some(n) => n,
            None => {
                let count = if filter == BY_INDEX {
                    INDEX_COUNT_STATE.to_string()
                } else {
                    format!("SELECT COUNT(*) {filter}")
                };
                let n: i64 = self
                    .conn
                    .prepare_cached(&count)
                    .and_then(|mut s| s.query_row(params![text, query.state], |r| r.get(0)))
                    .map_err(|e| self.err(e))?;
                usize::try_from(n).unwrap_or(0)
            }
        };
        let rows = self.rows(
            &format!("SELECT {COLUMNS} {filter} ORDER BY p.created DESC, p.order_id LIMIT ?3"),
            text,
            query,
        )?;
        Ok(Page { rows, total })
    }

    /// The first `query.limit` rows of `sql` (a query of `?1` the text,
    /// `?2` the state and `?3` the limit).
    fn rows(&self, sql: &str, text: &str, query: &Query) -> Result<Vec<Row>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        stmt.query_map(params![text, query.state, limit], row)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))
    }

    /// A page of the payments whose `search_text` holds `folded`: their
    /// covering index walked newest first until the page is full, and
    /// counted over that index only if the page is full (a page that is
    /// not holds every match).
    fn text_page(&self, folded: &str, query: &Query) -> Result<Page, StoreError> {
        let rows = self.rows(
            &format!("SELECT {COLUMNS} {BY_TEXT} ORDER BY p.created DESC, p.order_id LIMIT ?3"),
            folded,
            query,
        )?;
        let count = |sql: &str, after: Option<&Row>| -> Result<usize, StoreError> {
            let (created, order) = after.map_or((None, None), |r| (Some(r.created), Some(r.order.as_str())));
            let n: i64 = self
                .conn
                .prepare_cached(sql)
                .and_then(|mut s| match after {
                    Some(_) => s.query_row(params![folded, query.state, created, order], |r| r.get(0)),
                    None => s.query_row(params![folded, query.state], |r| r.get(0)),
                })
                .map_err(|e| self.err(e))?;
            Ok(usize::try_from(n).unwrap_or(0))
        };
        let total = match rows.last() {
            _ if rows.len() < query.limit => rows.len(),
            Some(last) => rows.len() + count(TEXT_COUNT_AFTER, Some(last))?,
            None => count(TEXT_COUNT, None)?,
        };
        Ok(Page { rows, total })
    }

    /// A page of a search by the index that many payments match (their
    /// rowids in `matches`): the payments walked newest first over the
    /// index on creation time (or those of the state, over its index)
    /// until the page is full, instead of asking the index again and
    /// sorting every match in SQL.
    fn broad_page(&self, matches: &HashSet<i64>, query: &Query) -> Result<Page, StoreError> {
        let sql = |e| self.err(e);
        // Creation times and rowids of matches, newest first.
        let mut picked: Vec<(i64, i64)> = Vec::new();
        let total = match &query.state {
            None => {
                let mut stmt = self
                    .conn
                    .prepare_cached(
                        "SELECT created, rowid FROM payment INDEXED BY payment_created ORDER BY created DESC",
                    )
                    .map_err(sql)?;
                let mut rows = stmt.query([]).map_err(sql)?;
                while let Some(r) = rows.next().map_err(sql)? {
                    let (created, rowid): (i64, i64) = (r.get(0).map_err(sql)?, r.get(1).map_err(sql)?);
                    // Past the page, only a tie in time may still come first.
                    if picked.len() >= query.limit && picked.last().is_none_or(|p| p.0 != created) {
                        break;
                    }
                    if matches.contains(&rowid) {
                        picked.push((created, rowid));
                    }
                }
                matches.len()
            }
            Some(state) => {
                let mut stmt = self
                    .conn
                    .prepare_cached("SELECT created, rowid FROM payment WHERE state = ?1")
                    .map_err(sql)?;
                let all = stmt
                    .query_map(params![state], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(sql)?
                    .collect::<Result<Vec<(i64, i64)>, _>>()
                    .map_err(sql)?;
                picked = all.into_iter().filter(|(_, rowid)| matches.contains(rowid)).collect();
                picked.sort_by_key(|p| std::cmp::Reverse(p.0));
                picked.len()
            }
        };
        // The page, and what ties in time with its last payment.
        let mut end = picked.len().min(query.limit);
        while end > 0 && picked.get(end).is_some_and(|p| p.0 == picked[end - 1].0) {
            end += 1;
        }
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT p.order_id, p.merchant, m.name, p.amount_minor, p.currency, p.state, p.detail, p.created
                 FROM payment p LEFT JOIN merchant m ON m.address = p.merchant WHERE p.rowid = ?1",
            )
            .map_err(sql)?;
        let mut rows = picked[..end]
            .iter()
            .map(|(_, rowid)| stmt.query_row(params![rowid], row))
            .collect::<Result<Vec<_>, _>>()
            .map_err(sql)?;
        rows.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.order.cmp(&b.order)));
        rows.truncate(query.limit);
        Ok(Page { rows, total })
    }

    /// Every mail sent and received for an order, oldest first.
    pub fn timeline(&self, order: &OrderId) -> Result<Vec<Entry>, StoreError> {
        let mut entries = Vec::new();
        let mut sent = self
            .conn
            .prepare("SELECT queued_at, sent_at, kind, recipient, last_error, message_id, bytes FROM outbox WHERE order_id = ?1 ORDER BY rowid")
            .map_err(|e| self.err(e))?;
        let rows = sent
            .query_map(params![order.as_str()], |r| {
                let queued: i64 = r.get(0)?;
                let sent_at: Option<i64> = r.get(1)?;
                let error: Option<String> = r.get(4)?;
                let status = match (sent_at, error) {
                    (Some(_), _) => "accepted".to_string(),
                    (None, Some(e)) => e,
                    (None, None) => "queued".to_string(),
                };
                Ok(Entry {
                    at: sent_at.unwrap_or(queued),
                    direction: Direction::Sent,
                    kind: r.get(2)?,
                    peer: r.get(3)?,
                    status,
                    message_id: r.get(5)?,
                    raw: r.get(6)?,
                })
            })
            .map_err(|e| self.err(e))?;
        for entry in rows {
            entries.push(entry.map_err(|e| self.err(e))?);
        }
        let mut received = self
            .conn
            .prepare("SELECT received_at, kind, outcome, message_id, raw FROM received WHERE order_id = ?1 ORDER BY received_at")
            .map_err(|e| self.err(e))?;
        let rows = received
            .query_map(params![order.as_str()], |r| {
                let raw: Vec<u8> = r.get(4)?;
                let peer =
                    crate::protocol::parse::parse(&raw).map(|m| m.from.to_string()).unwrap_or_default();
                Ok(Entry {
                    at: r.get(0)?,
                    direction: Direction::Received,
                    kind: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    peer,
                    status: r.get(2)?,
                    message_id: r.get(3)?,
                    raw,
                })
            })
            .map_err(|e| self.err(e))?;
        for entry in rows {
            entries.push(entry.map_err(|e| self.err(e))?);
        }
        // Times are in seconds; within one second the protocol's own order
        // of mails (order, request, ..., confirm, approve, settled) decides.
        let rank = |kind: &str| Kind::ALL.iter().position(|k| k.as_str() == kind).unwrap_or(usize::MAX);
        entries.sort_by_key(|e| (e.at, rank(&e.kind)));
        Ok(entries)
    }

    /// Whether the orderer asked to approve this order's confirmation at
    /// once when it matches the record exactly.
    pub fn pre_approved(&self, order: &OrderId) -> Result<bool, StoreError> {
        self.conn
            .query_row("SELECT pre_approved FROM payment WHERE order_id = ?1", params![order.as_str()], |r| {
                r.get::<_, i64>(0)
            })
            .map(|v| v != 0)
            .map_err(|e| self.err(e))
    }

    pub fn set_pre_approved(&self, order: &OrderId, yes: bool) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE payment SET pre_approved = ?2 WHERE order_id = ?1",
                params![order.as_str(), i64::from(yes)],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// The payments still open (sending, sent, awaiting confirmation or
    /// failed): the ones a clock tick may expire.
    pub fn open_orders(&self) -> Result<Vec<OrderId>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT order_id FROM payment
                 WHERE state IN ('sending', 'sent', 'awaiting-confirmation', 'failed')",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(|e| self.err(e))?;
        let ids: Vec<String> = rows.collect::<Result<_, _>>().map_err(|e| self.err(e))?;
        Ok(ids.iter().filter_map(|id| id.parse().ok()).collect())
    }

    /// Writes every payment matching `query` (its limit ignored) as CSV
    /// (RFC 4180) to `path`, atomically; returns how many rows.
    pub fn export_csv(&self, query: &Query, path: &Path) -> Result<usize, StoreError> {
        let io = |e: std::io::Error| StoreError::Sqlite { path: path.to_path_buf(), reason: e.to_string() };
        let all = Query { limit: usize::MAX >> 1, ..query.clone() };
        let page = self.history(&all)?;
        let temp = path.with_extension("csv.tmp");
        let mut file = std::io::BufWriter::new(std::fs::File::create(&temp).map_err(io)?);
        writeln!(file, "order,created_unix,merchant,merchant_name,amount,currency,state,detail")
            .map_err(io)?;
        for r in &page.rows {
            let (amount, currency) = r.amount.map_or((String::new(), String::new()), |m| {
                (m.major_string(), m.currency().code().to_string())
            });
            let fields = [
                r.order.clone(),
                r.created.to_string(),
                r.merchant.clone(),
                r.merchant_name.clone().unwrap_or_default(),
                amount,
                currency,
                r.state.clone(),
                r.detail.clone().unwrap_or_default(),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            writeln!(file, "{}", line.join(",")).map_err(io)?;
        }
        let file = file.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&temp, path).map_err(io)?;
        Ok(page.rows.len())
    }
}

pub(super) fn csv_field(text: &str) -> String {
    // A leading = + - @ would be a formula in a spreadsheet: quote it as text.
    let formula = text.starts_with(['=', '+', '-', '@']);
    if formula || text.contains([',', '"', '\n', '\r']) {
        let prefix = if formula { "'" } else { "" };
        format!("\"{prefix}{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn fill(store: &mut Store, n: usize) {
        let tx = store.conn.transaction().unwrap();
        {
            // Every other shop has a Japanese name: 山田 is in half the
            // payments.
            let mut stmt = tx.prepare("INSERT INTO merchant (address, name) VALUES (?1, ?2)").unwrap();
            for k in (0..500).step_by(2) {
                stmt.execute(params![format!("shop{k}@example.com"), format!("山田商店 {k}")]).unwrap();
            }
        }
        {
            let mut stmt = tx
                .prepare(
                    "INSERT INTO payment (order_id, orderer, merchant, bank, amount_minor, currency, method, terms_block, state, state_data, created, updated)
                     VALUES (?1, 'me@example.org', ?2, 'bank@example.org', ?3, 'JPY', 'confirm', '', ?4, '{}', ?5, ?5)",
                )
                .unwrap();
            let states = ["settled", "sent", "awaiting-confirmation", "rejected", "expired"];
            for i in 0..n {
                let merchant = format!("shop{}@example.com", i % 500);
                stmt.execute(params![
                    format!("ORD{i:08}"),
                    merchant,
                    100 + i as i64,
                    states[i % states.len()],
                    1_700_000_000 + 300 * i as i64
                ])
                .unwrap();
            }
        }
        tx.commit().unwrap();
    }

    fn temp_store(name: &str) -> (Store, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("mailpay-history-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        (Store::open(&dir.join("w.sqlite3")).unwrap(), dir)
    }

    /// The median time of `runs` calls of `f`, in milliseconds.
    fn median_ms(runs: usize, mut f: impl FnMut()) -> f64 {
        let mut times: Vec<f64> = (0..runs)
            .map(|_| {
                let start = std::time::Instant::now();
                f();
                start.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        times[runs / 2]
    }

    #[test]
    fn filters_100_000_payments() {
        // That the indexes give the right pages at that size; the times
        // printed are what packaging/measure.sh reports (in release).
        let (mut store, dir) = temp_store("big");
        fill(&mut store, 100_000);
        let text = |t: &str| Query { text: t.into(), state: None, limit: 200 };
        let page = store.history(&text("shop42@")).unwrap();
        assert_eq!(page.total, 200, "shop42@ is every 500th payment");
        assert_eq!(page.rows.len(), 200);
        assert!(page.rows.windows(2).all(|w| w[0].created >= w[1].created), "newest first");
        let scanned = store.page(&Search::Scan(like_pattern("shop42@")), &text("shop42@")).unwrap();
        assert_eq!(scanned, page, "the index finds what a scan finds");
        for broad in ["ORD0004", "example", "ORD0000"] {
            for state in [None, Some("settled".to_string())] {
                let query = Query { state, ..text(broad) };
                let page = store.history(&query).unwrap();
                assert!(page.total >= 2_000 && page.rows.len() == 200, "{query:?}: {}", page.total);
                let scanned = store.page(&Search::Scan(like_pattern(broad)), &query).unwrap();
                assert_eq!(page, scanned, "{query:?}: many matches, walked newest first");
            }
        }
        // One or two characters, and a part of an order id found by the
        // index among the oldest payments only: as a scan finds them.
        for short in ["e", "E", "7", "@", "42", "Q", "山", "山田", "店 ", "zq", "ORD0000"] {
            for state in [None, Some("settled".to_string())] {
                let query = Query { state, ..text(short) };
                let page = store.history(&query).unwrap();
                let scanned = store.page(&Search::Scan(like_pattern(short.trim())), &query).unwrap();
                assert_eq!(page, scanned, "{query:?}");
            }
        }
        assert_eq!(store.history(&text("山田")).unwrap().total, 50_000);
        assert_eq!(store.history(&text("e")).unwrap().total, 100_000);
        let by_state = Query { text: String::new(), state: Some("settled".into()), limit: 200 };
        let page = store.history(&by_state).unwrap();
        assert_eq!(page.total, 20_000);
        assert!(page.rows.iter().all(|r| r.state == "settled"));
        let both = Query { text: "shop42@".into(), state: Some("settled".into()), limit: 200 };
        assert_eq!(store.history(&both).unwrap().total, 0, "shop42@ payments all await confirmation");
        let both = Query { text: "shop40@".into(), ..both };
        assert_eq!(store.history(&both).unwrap().total, 200);

        let runs = 9;
        let time = |query: &Query| median_ms(runs, || drop(store.history(query).unwrap()));
        let fts = time(&text("shop42@"));
        let scan = median_ms(runs, || {
            drop(store.page(&Search::Scan(like_pattern("shop42@")), &text("shop42@")).unwrap())
        });
        let order = time(&text("ORD0004"));
        let oldest = time(&text("ORD0000"));
        let one = time(&text("e"));
        let two = time(&text("42"));
        let cjk = time(&text("山田"));
        let typed = time(&text("exa"));
        let broad = time(&text("example"));
        let state = time(&by_state);
        let combined = time(&both);
        let short_state = time(&Query { text: "42".into(), ..by_state.clone() });
        let yen = super::super::overview::OverviewQuery {
            currency: "JPY".parse().unwrap(),
            from: None,
            until: None,
        };
        let overview = median_ms(runs, || drop(store.overview(&yen, &jiff::tz::TimeZone::UTC).unwrap()));
        println!("history over 100,000 payments (median of {runs}), 1 char (e, matches all): {one:.1} ms");
        println!("history over 100,000 payments (median of {runs}), 2 chars (42): {two:.1} ms");
        println!("history over 100,000 payments (median of {runs}), 2 CJK chars (山田, half): {cjk:.1} ms");
        println!(
            "history over 100,000 payments (median of {runs}), 3 chars matching all (exa): {typed:.1} ms"
        );
        println!(
            "history over 100,000 payments (median of {runs}), 7 chars matching all (example): {broad:.1} ms"
        );
        println!("history over 100,000 payments (median of {runs}), state (settled): {state:.1} ms");
        println!(
            "history over 100,000 payments (median of {runs}), text and state (shop42@ settled {combined:.1} ms, \
             42 settled {short_state:.1} ms)"
        );
        println!(
            "history over 100,000 payments (median of {runs}), text search (shop42@) {fts:.1} ms (LIKE scan {scan:.1} ms), \
             part of an order id {order:.1} ms (of the oldest only {oldest:.1} ms); spending overview {overview:.1} ms"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn many_matches_at_one_time_come_in_order_id_order() {
        let (mut store, dir) = temp_store("ties");
        fill(&mut store, 2 * BROAD);
        store.conn.execute("UPDATE payment SET created = 2000000000 WHERE rowid % 3 = 0", []).unwrap();
        for state in [None, Some("sent".to_string())] {
            let query = Query { text: "example".into(), state, limit: 50 };
            let page = store.history(&query).unwrap();
            assert_eq!(
                page,
                store.page(&Search::Scan(like_pattern("example")), &query).unwrap(),
                "{query:?}"
            );
            assert_eq!(page.rows.len(), 50);
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn like_wildcards_in_the_search_are_literal() {
        let (mut store, dir) = temp_store("like");
        fill(&mut store, 20);
        assert_eq!(store.history(&Query { text: "%".into(), state: None, limit: 10 }).unwrap().total, 0);
        assert_eq!(
            store.history(&Query { text: "ord0000001".into(), state: None, limit: 10 }).unwrap().total,
            10
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn csv_export_quotes_and_neutralises_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "\"'=HYPERLINK(1)\"");
        let (mut store, dir) = temp_store("csv");
        fill(&mut store, 7);
        let path = dir.join("out.csv");
        assert_eq!(store.export_csv(&Query::default(), &path).unwrap(), 7);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 8);
        assert!(text.lines().nth(1).unwrap().starts_with("ORD00000006,"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
