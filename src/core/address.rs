// TEMPORARY STUB (helper will replace)
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ShippingAddress {
    pub text: String,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub country_code: Option<String>,
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressMatch {
    pub address: ShippingAddress,
    pub lines: Vec<usize>,
    pub recipient: Option<String>,
}
pub fn find_address(_lines: &[&str]) -> Option<AddressMatch> {
    None
}
