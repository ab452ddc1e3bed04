//! The few words that sit beside figures (a line's price, the totals, the payment box): shared by
//! the text and the HTML part so that both carry the same figures under the same words, and
//! chosen by the language the email is written in.

/// Labels for one language.
#[derive(Debug)]
pub struct Labels {
    /// The BCP 47 tag of the language these are in, for the HTML part's `lang`.
    pub language: &'static str,
    pub item: &'static str,
    pub sku: &'static str,
    pub quantity: &'static str,
    pub unit_price: &'static str,
    pub amount: &'static str,
    pub subtotal: &'static str,
    pub shipping: &'static str,
    pub tax: &'static str,
    pub total: &'static str,
    pub paid: &'static str,
    pub reference: &'static str,
    pub how_to_pay: &'static str,
    pub ship_to: &'static str,
}

pub const EN: Labels = Labels {
    language: "en",
    item: "Item",
    sku: "SKU",
    quantity: "Qty",
    unit_price: "Price",
    amount: "Amount",
    subtotal: "Subtotal",
    shipping: "Shipping",
    tax: "Tax",
    total: "Total",
    paid: "Paid",
    reference: "Reference",
    how_to_pay: "How to pay",
    ship_to: "Shipping to",
};

/// The labels for `language` (ISO 639-1), English where there are none.
pub fn labels(_language: &str) -> &'static Labels {
    &EN
}
