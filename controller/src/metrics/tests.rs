use super::*;

#[test]
fn print() {
    let m = Metrics::default();
    println!("{}", render(&m).expect("encodes"));
}
