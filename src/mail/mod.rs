//! Mail at the edge of the core: raw bytes in (`read`), rendered messages out (`compose`).

pub mod compose;
pub mod html;
pub mod labels;
pub mod limits;
pub mod locale;
pub mod localized;
pub mod read;
