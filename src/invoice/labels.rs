//! Every word an invoice prints that is not data: one table, a column a language. A language
//! without a column prints English.

pub struct Labels {
    pub invoice: &'static str,
    pub credit_note: &'static str,
    pub number: &'static str,
    pub date: &'static str,
    pub order: &'static str,
    pub cancels: &'static str,
    pub bill_to: &'static str,
    pub tax_id: &'static str,
    pub description: &'static str,
    pub quantity: &'static str,
    pub unit_price: &'static str,
    pub net: &'static str,
    pub tax_rate: &'static str,
    pub tax: &'static str,
    pub shipping: &'static str,
    pub net_total: &'static str,
    pub tax_total: &'static str,
    pub total: &'static str,
    pub credit: &'static str,
    pub paid: &'static str,
    pub refund: &'static str,
    pub transaction: &'static str,
    pub via: &'static str,
    pub from: &'static str,
    pub page: &'static str,
}

const EN: Labels = Labels {
    invoice: "Invoice",
    credit_note: "Credit note",
    number: "Number",
    date: "Date",
    order: "Order",
    cancels: "Cancels invoice",
    bill_to: "Bill to",
    tax_id: "Tax ID",
    description: "Description",
    quantity: "Qty",
    unit_price: "Unit price",
    net: "Net",
    tax_rate: "Tax rate",
    tax: "Tax",
    shipping: "Shipping",
    net_total: "Total net",
    tax_total: "Total tax",
    total: "Total",
    credit: "Credit from exchange",
    paid: "Paid",
    refund: "To be refunded",
    transaction: "transaction",
    via: "via",
    from: "from",
    page: "Page",
};

const DE: Labels = Labels {
    invoice: "Rechnung",
    credit_note: "Gutschrift",
    number: "Nummer",
    date: "Datum",
    order: "Bestellung",
    cancels: "Storniert Rechnung",
    bill_to: "Rechnungsempfänger",
    tax_id: "USt-IdNr.",
    description: "Artikel",
    quantity: "Menge",
    unit_price: "Einzelpreis",
    net: "Netto",
    tax_rate: "MwSt.-Satz",
    tax: "MwSt.",
    shipping: "Versand",
    net_total: "Summe netto",
    tax_total: "Summe MwSt.",
    total: "Gesamtbetrag",
    credit: "Gutschrift aus Umtausch",
    paid: "Bezahlt",
    refund: "Zu erstatten",
    transaction: "Transaktion",
    via: "über",
    from: "von",
    page: "Seite",
};

const FR: Labels = Labels {
    invoice: "Facture",
    credit_note: "Avoir",
    number: "Numéro",
    date: "Date",
    order: "Commande",
    cancels: "Annule la facture",
    bill_to: "Facturé à",
    tax_id: "N° TVA",
    description: "Désignation",
    quantity: "Qté",
    unit_price: "Prix unitaire",
    net: "HT",
    tax_rate: "Taux TVA",
    tax: "TVA",
    shipping: "Livraison",
    net_total: "Total HT",
    tax_total: "Total TVA",
    total: "Total TTC",
    credit: "Avoir d'échange",
    paid: "Payé",
    refund: "À rembourser",
    transaction: "transaction",
    via: "via",
    from: "de",
    page: "Page",
};

const ES: Labels = Labels {
    invoice: "Factura",
    credit_note: "Factura rectificativa",
    number: "Número",
    date: "Fecha",
    order: "Pedido",
    cancels: "Anula la factura",
    bill_to: "Facturar a",
    tax_id: "NIF",
    description: "Descripción",
    quantity: "Cant.",
    unit_price: "Precio unitario",
    net: "Base",
    tax_rate: "Tipo IVA",
    tax: "IVA",
    shipping: "Envío",
    net_total: "Base imponible",
    tax_total: "Total IVA",
    total: "Total",
    credit: "Crédito por cambio",
    paid: "Pagado",
    refund: "A reembolsar",
    transaction: "transacción",
    via: "vía",
    from: "de",
    page: "Página",
};

/// The labels for `language` (an ISO 639-1 code such as "de"; a region suffix is ignored).
pub fn labels(language: &str) -> &'static Labels {
    let primary = language.split(['-', '_']).next().unwrap_or("");
    match primary.to_ascii_lowercase().as_str() {
        "de" => &DE,
        "fr" => &FR,
        "es" => &ES,
        _ => &EN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_fall_back_to_english() {
        assert_eq!(labels("de-AT").tax, "MwSt.");
        assert_eq!(labels("FR").invoice, "Facture");
        assert_eq!(labels("xx").invoice, "Invoice");
        assert_eq!(labels("").invoice, "Invoice");
    }
}
