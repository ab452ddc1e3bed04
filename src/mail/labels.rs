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

pub const DE: Labels = Labels {
    language: "de",
    item: "Artikel",
    sku: "Art.-Nr.",
    quantity: "Menge",
    unit_price: "Preis",
    amount: "Betrag",
    subtotal: "Zwischensumme",
    shipping: "Versand",
    tax: "MwSt.",
    total: "Gesamt",
    paid: "Bezahlt",
    reference: "Referenz",
    how_to_pay: "So bezahlen Sie",
    ship_to: "Lieferadresse",
};

pub const FR: Labels = Labels {
    language: "fr",
    item: "Article",
    sku: "Réf.",
    quantity: "Qté",
    unit_price: "Prix",
    amount: "Montant",
    subtotal: "Sous-total",
    shipping: "Livraison",
    tax: "TVA",
    total: "Total",
    paid: "Payé",
    reference: "Référence",
    how_to_pay: "Comment payer",
    ship_to: "Adresse de livraison",
};

pub const ES: Labels = Labels {
    language: "es",
    item: "Artículo",
    sku: "Ref.",
    quantity: "Cant.",
    unit_price: "Precio",
    amount: "Importe",
    subtotal: "Subtotal",
    shipping: "Envío",
    tax: "IVA",
    total: "Total",
    paid: "Pagado",
    reference: "Referencia",
    how_to_pay: "Cómo pagar",
    ship_to: "Dirección de envío",
};

pub const IT: Labels = Labels {
    language: "it",
    item: "Articolo",
    sku: "Cod.",
    quantity: "Qtà",
    unit_price: "Prezzo",
    amount: "Importo",
    subtotal: "Subtotale",
    shipping: "Spedizione",
    tax: "IVA",
    total: "Totale",
    paid: "Pagato",
    reference: "Riferimento",
    how_to_pay: "Come pagare",
    ship_to: "Indirizzo di spedizione",
};

pub const NL: Labels = Labels {
    language: "nl",
    item: "Artikel",
    sku: "Art.nr.",
    quantity: "Aantal",
    unit_price: "Prijs",
    amount: "Bedrag",
    subtotal: "Subtotaal",
    shipping: "Verzending",
    tax: "Btw",
    total: "Totaal",
    paid: "Betaald",
    reference: "Kenmerk",
    how_to_pay: "Zo betaalt u",
    ship_to: "Verzendadres",
};

pub const PT: Labels = Labels {
    language: "pt",
    item: "Artigo",
    sku: "Ref.",
    quantity: "Qtd.",
    unit_price: "Preço",
    amount: "Valor",
    subtotal: "Subtotal",
    shipping: "Envio",
    tax: "IVA",
    total: "Total",
    paid: "Pago",
    reference: "Referência",
    how_to_pay: "Como pagar",
    ship_to: "Morada de entrega",
};

/// The labels for `language` (ISO 639-1), English where there are none.
pub fn labels(language: &str) -> &'static Labels {
    match language {
        "de" => &DE,
        "fr" => &FR,
        "es" => &ES,
        "it" => &IT,
        "nl" => &NL,
        "pt" => &PT,
        _ => &EN,
    }
}
