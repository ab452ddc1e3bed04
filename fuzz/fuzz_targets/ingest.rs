//! Any bytes, as a message in the mailbox, through everything the pipeline does before it
//! stores (see harness/ingest.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../harness/ingest.rs"]
mod harness;

fuzz_target!(
    init: {
        // The shop and every lazily compiled regex, before the clock of the first unit starts
        // (under load they took over the 2 s timeout: the first run's only "finding").
        harness::check(harness::WARM_UP);
    },
    |data: &[u8]| harness::check(data)
);
