//! One module per screen: `State`, `Message`, `update` returning an
//! `Action` for the app, and `view`.

pub mod account;
pub mod approval;
pub mod contacts;
pub mod history;
pub mod new_payment;
pub mod overview;
pub mod settings;
pub mod welcome;
