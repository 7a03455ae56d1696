//! Block scanning on arbitrary text, and the render invariant: a block read
//! from any text, written out again with `Block::render`, reads back as the
//! same content, with its Check line verified.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailpay::protocol::block::{self, Block};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = block::own_text(&text);
    let Ok(blocks) = block::scan(&text) else { return };
    for found in &blocks {
        let rendered = found.render();
        let again = block::scan(&rendered)
            .unwrap_or_else(|e| panic!("a rendered block does not scan: {e}\n{rendered}"));
        let [back]: [Block; 1] = again
            .try_into()
            .unwrap_or_else(|v: Vec<Block>| panic!("a rendered block scans as {} blocks\n{rendered}", v.len()));
        assert!(back.checked, "the Check line of a rendered block was not read\n{rendered}");
        assert!(
            back.same_content(found),
            "render then scan changed the block\nfound:    {found:?}\nrendered:\n{rendered}read back: {back:?}"
        );
        // Rendering is stable: a block read back renders exactly as before.
        assert_eq!(back.render(), rendered);
    }
});
