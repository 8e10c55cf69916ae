//! Recombination of a data key split across key groups, in the format sops uses (HashiCorp's
//! Shamir implementation: each part is the share bytes followed by its x coordinate, over
//! GF(2^8) with the AES polynomial).

use crate::error::Error;

/// Combines `parts` (at least two, all of one length) into the secret.
pub fn combine(parts: &[Vec<u8>]) -> Result<Vec<u8>, Error> {
    let invalid =
        |why: &str| Error::DataKey(format!("could not get data key from shamir parts: {why}"));
    if parts.len() < 2 {
        return Err(invalid("less than two parts"));
    }
    let length = parts[0].len();
    if length < 2 || parts.iter().any(|p| p.len() != length) {
        return Err(invalid("parts differ in length"));
    }
    let xs: Vec<u8> = parts.iter().map(|p| p[length - 1]).collect();
    for (i, x) in xs.iter().enumerate() {
        if xs[..i].contains(x) {
            return Err(invalid("duplicate part"));
        }
    }
    let mut secret = vec![0u8; length - 1];
    for (index, byte) in secret.iter_mut().enumerate() {
        let ys: Vec<u8> = parts.iter().map(|p| p[index]).collect();
        *byte = interpolate_at_zero(&xs, &ys);
    }
    Ok(secret)
}

fn interpolate_at_zero(xs: &[u8], ys: &[u8]) -> u8 {
    let mut result = 0u8;
    for i in 0..xs.len() {
        let mut basis = 1u8;
        for j in 0..xs.len() {
            if i != j {
                basis = mul(basis, div(xs[j], xs[i] ^ xs[j]));
            }
        }
        result ^= mul(ys[i], basis);
    }
    result
}

fn mul(mut a: u8, mut b: u8) -> u8 {
    let mut product = 0u8;
    while b != 0 {
        if b & 1 != 0 {
            product ^= a;
        }
        let carry = a & 0x80 != 0;
        a <<= 1;
        if carry {
            a ^= 0x1b;
        }
        b >>= 1;
    }
    product
}

fn inverse(a: u8) -> u8 {
    // a^254 is the inverse of a in GF(2^8).
    let mut result = 1u8;
    for _ in 0..254 {
        result = mul(result, a);
    }
    result
}

fn div(a: u8, b: u8) -> u8 {
    if a == 0 { 0 } else { mul(a, inverse(b)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_shares_of_a_line_recover_its_value_at_zero() {
        // f(x) = 0x53 + 0xCA·x evaluated at x = 1 and x = 2.
        let secret = 0x53u8;
        let part = |x: u8| vec![secret ^ mul(0xCA, x), x];
        assert_eq!(combine(&[part(1), part(2)]).ok(), Some(vec![secret]));
        assert_eq!(combine(&[part(2), part(7)]).ok(), Some(vec![secret]));
    }
}
