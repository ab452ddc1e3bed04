// TEMPORARY STUB (helper will replace)
pub fn html_to_text(html: &str) -> String {
    html.to_string()
}
pub fn strip_reply(text: &str) -> String {
    text.to_string()
}
pub fn unflow(text: &str, _delsp: bool) -> String {
    text.to_string()
}
