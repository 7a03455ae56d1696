//! The board as a web page: a plain HTML table, no scripts.

use super::log::Entry;

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub fn render(title: &str, entries: &[Entry], head: &str) -> String {
    let title = escape(title);
    let mut rows = String::new();
    for e in entries.iter().rev() {
        rows.push_str(&format!(
            "<tr id=\"order-{order}\"><td>{seq}</td><td class=\"order\">{order}</td><td class=\"initials\">{initials}</td>\
             <td>{ordered}</td><td>{posted}</td><td class=\"key\"><code>{key}</code></td>\
             <td class=\"hash\"><code>{hash}</code></td></tr>\n",
            seq = e.seq,
            order = escape(&e.order),
            initials = escape(&e.initials),
            ordered = escape(&e.ordered_at),
            posted = escape(&e.posted_at),
            key = escape(e.key.as_deref().map_or("unsigned", |k| k.get(..20).unwrap_or(k))),
            hash = escape(e.hash.get(..16).unwrap_or(&e.hash)),
        ));
    }
    if entries.is_empty() {
        rows.push_str("<tr><td colspan=\"7\">No orders yet.</td></tr>\n");
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title>\
         <style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #999;padding:.3em .6em;text-align:left}}code{{font-size:.85em}}</style>\
         </head><body>\n<h1>{title}</h1>\n\
         <p>Orders placed with this shop, posted by the orderers themselves (MailPay, claim 3) \
         and signed with their wallet keys. Records are never changed or removed; each carries a hash \
         chained to the one before.</p>\n\
         <p>Chain head: <code id=\"head\">{head}</code> ({count} records). \
         Machine-readable: <a href=\"records.json\">records.json</a>.</p>\n\
         <table id=\"records\"><thead><tr><th>#</th><th>Order</th><th>Initials</th><th>Ordered at</th>\
         <th>Posted at</th><th>Signed by</th><th>Hash</th></tr></thead><tbody>\n{rows}</tbody></table>\n</body></html>\n",
        head = escape(head),
        count = entries.len(),
    )
}
