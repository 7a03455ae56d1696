//! A board record as posted by anyone: an error is fine, a panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailpay::protocol::board::BoardRecord;

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = BoardRecord::from_json(data) {
        // A checked record's fields print in forms that are read back as the same values.
        assert_eq!(record.order.to_string().parse().as_ref(), Ok(&record.order));
        assert_eq!(record.ordered_at.to_string().parse(), Ok(record.ordered_at));
        // As stored and published again, it checks to the same record (a
        // signature stays valid).
        assert_eq!(record.to_record().check().as_ref(), Ok(&record));
    }
});
