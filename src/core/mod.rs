//! The pure core: reading, matching, pricing and deciding. No I/O, no clock, no randomness:
//! time and fresh identifiers come in as parameters, so every decision is a table-testable
//! function of its inputs.

pub mod address;
pub mod aftersale;
pub mod answer;
pub mod auth;
pub mod body;
pub mod cards;
pub mod catalog;
pub mod changes;
pub mod classify;
pub mod command;
pub mod decide;
pub mod decision;
pub mod delivery;
pub mod digest;
pub mod echo;
pub mod emails;
pub mod erase;
pub mod extract;
pub mod feedback;
pub mod flags;
pub mod held;
pub mod inbound;
pub mod items;
pub mod lifecycle;
pub mod mentions;
pub mod money;
pub mod not_for_us;
pub mod numbers;
pub mod offer;
pub mod order;
pub mod payment;
pub mod postcode;
pub mod pricing;
pub mod redact;
pub mod reference;
pub mod release;
pub mod reply_cap;
pub mod returned;
pub mod returns;
pub mod revise;
pub mod seller;
pub mod settle;
pub mod supply;
pub mod timers;
