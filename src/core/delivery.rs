//! Counting business days for the expected delivery date.

use time::{Date, Duration, Weekday};

/// `days` business days (Monday to Friday) after `from`; a start on a weekend counts from the
/// Monday after. No holidays: the date is an expectation, and the email says so.
pub fn expected_delivery(from: Date, days: u32) -> Date {
    let mut date = from;
    let mut left = days;
    while left > 0 {
        date += Duration::days(1);
        if !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) {
            left -= 1;
        }
    }
    date
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn weekends_are_skipped() {
        // 2026-12-01 is a Tuesday.
        assert_eq!(
            expected_delivery(date!(2026 - 12 - 01), 5),
            date!(2026 - 12 - 08)
        );
        // Friday + 1 business day = Monday.
        assert_eq!(
            expected_delivery(date!(2026 - 12 - 04), 1),
            date!(2026 - 12 - 07)
        );
        // Saturday + 1 = Monday; Sunday + 5 = the Friday after.
        assert_eq!(
            expected_delivery(date!(2026 - 12 - 05), 1),
            date!(2026 - 12 - 07)
        );
        assert_eq!(
            expected_delivery(date!(2026 - 12 - 06), 5),
            date!(2026 - 12 - 11)
        );
        assert_eq!(
            expected_delivery(date!(2026 - 12 - 01), 0),
            date!(2026 - 12 - 01)
        );
    }
}
