//! The pure core: reading, matching, pricing and deciding. No I/O, no clock, no randomness:
//! time and fresh identifiers come in as parameters, so every decision is a table-testable
//! function of its inputs.

pub mod address;
pub mod aftersale;
pub mod auth;
pub mod body;
pub mod cards;
pub mod catalog;
pub mod classify;
pub mod command;
pub mod decide;
pub mod delivery;
pub mod echo;
pub mod erase;
pub mod extract;
pub mod inbound;
pub mod items;
pub mod mentions;
pub mod money;
pub mod not_for_us;
pub mod numbers;
pub mod order;
pub mod payment;
pub mod postcode;
pub mod pricing;
pub mod redact;
pub mod reference;
pub mod reply_cap;
pub mod seller;
pub mod settle;
pub mod timers;
