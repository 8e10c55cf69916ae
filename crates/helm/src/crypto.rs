//! sprig's cryptographic functions, which Helm registers: `genPrivateKey` (rsa, ecdsa,
//! ed25519), `genCA`, `genCAWithKey`, `genSelfSignedCert`, `genSelfSignedCertWithKey`,
//! `genSignedCert`, `genSignedCertWithKey`, `buildCustomCert`, `encryptAES`, `decryptAES`,
//! `derivePassword` (the Master Password algorithm) and `bcrypt`.
//!
//! Keys and certificates have the shape sprig gives them: PEM with 64-column lines; RSA keys
//! as PKCS#1 (`RSA PRIVATE KEY`), ECDSA as SEC 1 (`EC PRIVATE KEY`), Ed25519 as PKCS#8
//! (`PRIVATE KEY`); certificates with a random 128-bit serial, the common name as the only
//! subject attribute, validity from now for `days × 24h`, key usages key-encipherment and
//! digital-signature (plus cert-sign for a CA), extended usages server and client auth, and
//! basic constraints. Certificates are built and signed by rcgen; keys come from the `rsa`,
//! `p256` and `ring` crates. Errors read as sprig's.

use base64::Engine as _;
use rand_core::{OsRng, RngCore};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use tether_gotemplate::{Func, FuncMap, Param, Struct, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        _ => String::new(),
    }
}

fn int(v: &Value) -> i64 {
    v.as_int().unwrap_or(0)
}

/// Go's `pem.EncodeToMemory`: base64 in 64-column lines.
pub fn pem_block(label: &str, der: &[u8]) -> String {
    let body = B64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Go's `pem.Decode`: the first block's label and bytes (headers are not supported).
fn pem_decode(text: &str) -> Option<(String, Vec<u8>)> {
    let start = text.find("-----BEGIN ")?;
    let rest = &text[start + "-----BEGIN ".len()..];
    let label_end = rest.find("-----")?;
    let label = rest[..label_end].to_owned();
    let body_and_end = &rest[label_end + 5..];
    let end_marker = format!("-----END {label}-----");
    let end = body_and_end.find(&end_marker)?;
    let body: String = body_and_end[..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = B64.decode(body).ok()?;
    Some((label, der))
}

/// A private key of a type sprig handles.
enum PrivateKey {
    Rsa(Box<rsa::RsaPrivateKey>),
    P256(p256::SecretKey),
    P384(p384::SecretKey),
    /// The 32-byte seed.
    Ed25519([u8; 32]),
    /// A DSA key (its DER as sprig writes it): parsed, but Go cannot sign certificates with
    /// it, and neither can we.
    Dsa,
}

/// PKCS#8 v1 prefix of an Ed25519 key (RFC 8410): the seed follows.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

impl PrivateKey {
    /// sprig's `pemBlockForKey`.
    fn to_pem(&self) -> Result<String, String> {
        use rsa::pkcs1::EncodeRsaPrivateKey as _;
        Ok(match self {
            PrivateKey::Rsa(k) => pem_block(
                "RSA PRIVATE KEY",
                k.to_pkcs1_der().map_err(|e| e.to_string())?.as_bytes(),
            ),
            PrivateKey::P256(k) => {
                use p256::elliptic_curve::sec1::ToEncodedPoint as _;
                pem_block(
                    "EC PRIVATE KEY",
                    &sec1_der(
                        &k.to_bytes(),
                        P256_OID,
                        k.public_key().to_encoded_point(false).as_bytes(),
                    ),
                )
            }
            PrivateKey::P384(k) => {
                use p384::elliptic_curve::sec1::ToEncodedPoint as _;
                pem_block(
                    "EC PRIVATE KEY",
                    &sec1_der(
                        &k.to_bytes(),
                        P384_OID,
                        k.public_key().to_encoded_point(false).as_bytes(),
                    ),
                )
            }
            PrivateKey::Ed25519(seed) => {
                let mut der = ED25519_PKCS8_PREFIX.to_vec();
                der.extend_from_slice(seed);
                pem_block("PRIVATE KEY", &der)
            }
            PrivateKey::Dsa => {
                return Err(
                    "x509: unknown key type while marshaling PKCS#8: *dsa.PrivateKey".into(),
                );
            }
        })
    }

    /// The key as rcgen signs with it.
    fn key_pair(&self) -> Result<KeyPair, String> {
        use rsa::pkcs8::EncodePrivateKey as _;
        let (der, alg) = match self {
            PrivateKey::Rsa(k) => (
                k.to_pkcs8_der()
                    .map_err(|e| e.to_string())?
                    .as_bytes()
                    .to_vec(),
                &rcgen::PKCS_RSA_SHA256,
            ),
            PrivateKey::P256(k) => (
                k.to_pkcs8_der()
                    .map_err(|e| e.to_string())?
                    .as_bytes()
                    .to_vec(),
                &rcgen::PKCS_ECDSA_P256_SHA256,
            ),
            PrivateKey::P384(k) => (
                k.to_pkcs8_der()
                    .map_err(|e| e.to_string())?
                    .as_bytes()
                    .to_vec(),
                &rcgen::PKCS_ECDSA_P384_SHA384,
            ),
            PrivateKey::Ed25519(seed) => {
                let mut der = ED25519_PKCS8_PREFIX.to_vec();
                der.extend_from_slice(seed);
                (der, &rcgen::PKCS_ED25519)
            }
            PrivateKey::Dsa => {
                return Err("x509: only RSA, ECDSA and Ed25519 keys supported".into());
            }
        };
        KeyPair::from_pkcs8_der_and_sign_algo(&der.as_slice().into(), alg)
            .map_err(|e| e.to_string())
    }
}

/// The named-curve OIDs (DER) of P-256 and P-384.
const P256_OID: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384_OID: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];

/// Go's `x509.MarshalECPrivateKey`: SEC 1 `ECPrivateKey` with the curve and the public key.
/// The `p256`/`p384` writers leave the curve out (it belongs in PKCS#8's algorithm there),
/// which OpenSSL and Go refuse for a bare `EC PRIVATE KEY`, so the sequence is written here.
fn sec1_der(secret: &[u8], curve_oid: &[u8], public: &[u8]) -> Vec<u8> {
    let mut body = der_integer(&[1]);
    body.extend(der_tlv(0x04, secret));
    body.extend(der_tlv(0xa0, curve_oid));
    let mut bits = vec![0u8];
    bits.extend_from_slice(public);
    body.extend(der_tlv(0xa1, &der_tlv(0x03, &bits)));
    der_tlv(0x30, &body)
}

/// sprig's `parsePrivateKeyPEM`, with its messages.
fn parse_private_key(text: &str) -> Result<PrivateKey, String> {
    use p256::pkcs8::DecodePrivateKey as _;
    use rsa::pkcs1::DecodeRsaPrivateKey as _;
    let (label, der) = pem_decode(text).ok_or("no PEM data in input")?;
    if label == "PRIVATE KEY" {
        if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_der(&der) {
            return Ok(PrivateKey::Rsa(Box::new(k)));
        }
        if let Ok(k) = p256::SecretKey::from_pkcs8_der(&der) {
            return Ok(PrivateKey::P256(k));
        }
        if let Ok(k) = p384::SecretKey::from_pkcs8_der(&der) {
            return Ok(PrivateKey::P384(k));
        }
        if der.len() == 48 && der[..16] == ED25519_PKCS8_PREFIX {
            let mut seed = [0u8; 32];
            seed.copy_from_slice(&der[16..]);
            return Ok(PrivateKey::Ed25519(seed));
        }
        return Err("decoding PEM as PKCS#8: x509: failed to parse private key".into());
    }
    let Some(kind) = label.strip_suffix(" PRIVATE KEY") else {
        return Err(format!("no private key data in PEM block of type {label}"));
    };
    match kind {
        "RSA" => rsa::RsaPrivateKey::from_pkcs1_der(&der)
            .map(|k| PrivateKey::Rsa(Box::new(k)))
            .map_err(|e| format!("parsing RSA private key from PEM: x509: {e}")),
        "EC" => p256::SecretKey::from_sec1_der(&der)
            .map(PrivateKey::P256)
            .or_else(|_| p384::SecretKey::from_sec1_der(&der).map(PrivateKey::P384))
            .map_err(|_| {
                "parsing EC private key from PEM: x509: failed to parse EC private key".to_owned()
            }),
        "DSA" => Ok(PrivateKey::Dsa),
        _ => Err(format!("invalid private key type {label}")),
    }
}

/// sprig's `genPrivateKey`: an error becomes the result text, as in sprig.
fn generate_private_key(kind: &str) -> String {
    let key = match kind {
        // sprig's size for `genPrivateKey`; certificates get 2048-bit keys.
        "" | "rsa" => rsa_key(4096),
        "ecdsa" => Ok(PrivateKey::P256(p256::SecretKey::random(&mut OsRng))),
        "ed25519" => {
            let mut seed = [0u8; 32];
            OsRng.fill_bytes(&mut seed);
            Ok(PrivateKey::Ed25519(seed))
        }
        "dsa" => return generate_dsa_pem(),
        other => return format!("Unknown type {other}"),
    };
    match key.and_then(|k| k.to_pem()) {
        Ok(pem) => pem,
        Err(e) => format!("failed to generate private key: {e}"),
    }
}

/// sprig's DSA key: L2048N256 parameters, written as the `DSA PRIVATE KEY` sequence
/// (version 0, P, Q, G, Y, X) that OpenSSL and sprig use. The `dsa` crate has no writer for
/// that legacy form, so the six DER integers are written here.
fn generate_dsa_pem() -> String {
    let components = dsa::Components::generate(&mut OsRng, dsa::KeySize::DSA_2048_256);
    let key = dsa::SigningKey::generate(&mut OsRng, components);
    let public = key.verifying_key();
    let c = public.components();
    let mut body = der_integer(&[0]);
    for n in [c.p(), c.q(), c.g(), public.y(), key.x()] {
        body.extend(der_integer(&n.to_bytes_be()));
    }
    pem_block("DSA PRIVATE KEY", &der_tlv(0x30, &body))
}

fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// A non-negative DER INTEGER from big-endian magnitude bytes.
fn der_integer(magnitude: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = magnitude.iter().copied().skip_while(|b| *b == 0).collect();
    let mut content = if trimmed.is_empty() { vec![0] } else { trimmed };
    if content[0] & 0x80 != 0 {
        content.insert(0, 0);
    }
    der_tlv(0x02, &content)
}

fn rsa_key(bits: usize) -> Result<PrivateKey, String> {
    rsa::RsaPrivateKey::new(&mut OsRng, bits)
        .map(|k| PrivateKey::Rsa(Box::new(k)))
        .map_err(|e| e.to_string())
}

/// A `sprig.certificate`.
fn certificate(cert: String, key: String) -> Value {
    Value::Struct(
        Struct::new("sprig.certificate")
            .field("Cert", Value::String(cert))
            .field("Key", Value::String(key)),
    )
}

/// The `Cert` and `Key` of a certificate argument.
fn cert_fields(v: &Value) -> Result<(String, String), String> {
    match v {
        Value::Struct(st) => {
            let get = |n: &str| st.lookup(n).map(s).unwrap_or_default();
            Ok((get("Cert"), get("Key")))
        }
        other => Err(format!(
            "wrong type for value; expected sprig.certificate; got {}",
            other.type_name()
        )),
    }
}

/// An `[]interface {}` argument of strings (nil is empty).
fn strings_arg(v: &Value, what: &str) -> Result<Vec<String>, String> {
    match v {
        Value::Nil | Value::Invalid => Ok(Vec::new()),
        Value::Slice(sl) => sl
            .items
            .iter()
            .map(|x| match x {
                Value::String(t) => Ok(t.clone()),
                other => Err(format!(
                    "{what}: {} is not a string",
                    tether_gotemplate::sprint(std::slice::from_ref(other))
                )),
            })
            .collect(),
        other => Err(format!(
            "wrong type for value; expected []interface {{}}; got {}",
            other.type_name()
        )),
    }
}

/// sprig's `getBaseCertTemplate`.
fn base_params(cn: &str, ips: &Value, dns: &Value, days: i64) -> Result<CertificateParams, String> {
    // sprig checks the IPs first; Go writes DNS names before IPs.
    let mut ip_sans = Vec::new();
    for ip in strings_arg(ips, "error parsing ip")? {
        let addr = parse_go_ip(&ip).ok_or_else(|| format!("error parsing ip: {ip}"))?;
        ip_sans.push(SanType::IpAddress(addr));
    }
    let mut sans = Vec::new();
    for name in strings_arg(dns, "error processing alternate dns name")? {
        let name = name
            .try_into()
            .map_err(|e: rcgen::Error| format!("error processing alternate dns name: {e}"))?;
        sans.push(SanType::DnsName(name));
    }
    sans.extend(ip_sans);
    let mut serial = [0u8; 16];
    OsRng.fill_bytes(&mut serial);
    let now = time::OffsetDateTime::now_utc();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    let mut params = CertificateParams::default();
    params.distinguished_name = dn;
    params.subject_alt_names = sans;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    params.not_before = now;
    params.not_after = now
        .checked_add(
            time::Duration::hours(24).saturating_mul(i32::try_from(days).unwrap_or(i32::MAX)),
        )
        .unwrap_or(now);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.is_ca = IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

/// Go's `net.ParseIP`: dotted IPv4 or IPv6 (no zones).
fn parse_go_ip(text: &str) -> Option<std::net::IpAddr> {
    text.parse().ok()
}

/// Builds and signs a certificate for `key`, by `issuer` (self-signed when `None`).
fn sign(
    params: CertificateParams,
    key: &PrivateKey,
    issuer: Option<(&str, &PrivateKey)>,
) -> Result<Value, String> {
    let pair = key
        .key_pair()
        .map_err(|e| format!("error creating certificate: {e}"))?;
    let cert = match issuer {
        None => params.self_signed(&pair),
        Some((ca_pem, ca_key)) => {
            let ca_pair = ca_key
                .key_pair()
                .map_err(|e| format!("error creating certificate: {e}"))?;
            let issuer = Issuer::from_ca_cert_pem(ca_pem, ca_pair)
                .map_err(|e| format!("error parsing certificate: decodedSignerCert.Bytes: {e}"))?;
            params.signed_by(&pair, &issuer)
        }
    }
    .map_err(|e| format!("error creating certificate: {e}"))?;
    Ok(certificate(
        pem_block("CERTIFICATE", cert.der()),
        key.to_pem()?,
    ))
}

fn gen_ca(cn: &str, days: i64, key: &PrivateKey) -> Result<Value, String> {
    let mut params = base_params(cn, &Value::Nil, &Value::Nil, days)?;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyCertSign,
    ];
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    sign(params, key, None)
}

fn gen_signed(a: &[Value], ca: &Value, key: &PrivateKey) -> Result<Value, String> {
    let (ca_cert, ca_key) = cert_fields(ca)?;
    let (label, der) = pem_decode(&ca_cert).ok_or("unable to decode certificate")?;
    let _ = label;
    x509_parser::parse_x509_certificate(&der).map_err(|_| {
        "error parsing certificate: decodedSignerCert.Bytes: x509: malformed certificate".to_owned()
    })?;
    let signer =
        parse_private_key(&ca_key).map_err(|e| format!("error parsing private key: {e}"))?;
    let params = base_params(&s(&a[0]), &a[1], &a[2], int(&a[3]))?;
    sign(params, key, Some((&ca_cert, &signer)))
}

/// sprig's `buildCustomCert`: checks both halves and returns them.
fn build_custom_cert(b64cert: &str, b64key: &str) -> Result<Value, String> {
    let cert = B64
        .decode(b64cert)
        .map_err(|_| "unable to decode base64 certificate")?;
    let key = B64
        .decode(b64key)
        .map_err(|_| "unable to decode base64 private key")?;
    let cert = String::from_utf8_lossy(&cert).into_owned();
    let key = String::from_utf8_lossy(&key).into_owned();
    let (_, der) = pem_decode(&cert).ok_or("unable to decode certificate")?;
    x509_parser::parse_x509_certificate(&der).map_err(|_| {
        "error parsing certificate: decodedCert.Bytes: x509: malformed certificate".to_owned()
    })?;
    parse_private_key(&key).map_err(|e| format!("error parsing private key: {e}"))?;
    Ok(certificate(cert, key))
}

/// sprig's key for AES: the password's bytes, cut or zero-padded to 32 (AES-256).
fn aes_key(password: &str) -> aes::Aes256 {
    use aes::cipher::KeyInit as _;
    let mut key = [0u8; 32];
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password.as_bytes()[..n]);
    aes::Aes256::new(&key.into())
}

/// sprig's `encryptAES`: AES-256-CBC, PKCS#7 padding, a random IV before the ciphertext,
/// base64. CBC is chained here over the `aes` block cipher (a few lines) rather than with the
/// `cbc` crate, because `decryptAES` must reproduce sprig's unchecked unpadding and its
/// failures exactly, which a validating mode crate does not.
fn encrypt_aes(password: &str, plaintext: &str) -> String {
    use aes::cipher::BlockEncrypt as _;
    if plaintext.is_empty() {
        return String::new();
    }
    let cipher = aes_key(password);
    let mut content = plaintext.as_bytes().to_vec();
    let pad = 16 - content.len() % 16;
    content.extend(std::iter::repeat_n(pad as u8, pad));
    let mut out = vec![0u8; 16];
    OsRng.fill_bytes(&mut out);
    let mut prev = [0u8; 16];
    prev.copy_from_slice(&out);
    for chunk in content.chunks(16) {
        let mut block = [0u8; 16];
        for (i, b) in block.iter_mut().enumerate() {
            *b = chunk[i] ^ prev[i];
        }
        let mut ga = block.into();
        cipher.encrypt_block(&mut ga);
        prev.copy_from_slice(&ga);
        out.extend_from_slice(&ga);
    }
    B64.encode(out)
}

/// sprig's `decryptAES`, failing where Go panics (text/template reports the panic).
fn decrypt_aes(password: &str, crypt64: &str) -> Result<String, String> {
    use aes::cipher::BlockDecrypt as _;
    if crypt64.is_empty() {
        return Ok(String::new());
    }
    let crypt = B64
        .decode(crypt64)
        .map_err(|e| go_base64_error(crypt64, &e))?;
    let cipher = aes_key(password);
    if crypt.len() < 16 {
        return Err(format!(
            "runtime error: slice bounds out of range [:16] with capacity {}",
            crypt.len()
        ));
    }
    let (iv, body) = crypt.split_at(16);
    if body.len() % 16 != 0 {
        return Err("crypto/cipher: input not full blocks".into());
    }
    let mut out = Vec::with_capacity(body.len());
    let mut prev: [u8; 16] = iv.try_into().unwrap_or([0; 16]);
    for chunk in body.chunks(16) {
        let mut ga = aes::Block::clone_from_slice(chunk);
        cipher.decrypt_block(&mut ga);
        for i in 0..16 {
            out.push(ga[i] ^ prev[i]);
        }
        prev.copy_from_slice(chunk);
    }
    let Some(&last) = out.last() else {
        return Err("runtime error: index out of range [-1]".into());
    };
    let keep = out.len() as i64 - i64::from(last);
    if keep < 0 {
        return Err(format!(
            "runtime error: slice bounds out of range [:{keep}]"
        ));
    }
    out.truncate(keep as usize);
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Go's `base64.CorruptInputError` text for the first bad byte.
fn go_base64_error(text: &str, _e: &base64::DecodeError) -> String {
    let alphabet = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
    let bytes = text.as_bytes();
    let mut offset = bytes
        .iter()
        .position(|&b| !alphabet(b) && b != b'=' && b != b'\r' && b != b'\n');
    if offset.is_none() {
        // Padding in the wrong place, or a length that is not a multiple of four.
        let data = bytes.iter().filter(|&&b| b != b'\r' && b != b'\n').count();
        offset = Some(if let Some(p) = bytes.iter().position(|&b| b == b'=') {
            p
        } else {
            data - data % 4
        });
    }
    format!("illegal base64 data at input byte {}", offset.unwrap_or(0))
}

/// sprig's character classes of Master Password templates.
fn template_chars(c: u8) -> &'static [u8] {
    match c {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

fn password_templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

const MASTER_PASSWORD_SEED: &[u8] = b"com.lyndir.masterpassword";

/// The Master Password algorithm as sprig implements it: scrypt(N=32768, r=8, p=2) of the
/// password salted with the user name, HMAC-SHA256 of the site and counter, and the seed's
/// bytes choosing a template and its characters. Lengths are written as big-endian `uint32`.
pub fn derive_password(counter: u32, kind: &str, password: &str, user: &str, site: &str) -> String {
    use hmac::Mac as _;
    let Some(templates) = password_templates(kind) else {
        return format!("cannot find password template {kind}");
    };
    let mut salt = MASTER_PASSWORD_SEED.to_vec();
    salt.extend_from_slice(&(user.len() as u32).to_be_bytes());
    salt.extend_from_slice(user.as_bytes());
    let mut key = [0u8; 64];
    let derived = scrypt::Params::new(15, 8, 2, 64)
        .map_err(|e| e.to_string())
        .and_then(|p| {
            scrypt::scrypt(password.as_bytes(), &salt, &p, &mut key).map_err(|e| e.to_string())
        });
    if let Err(e) = derived {
        return format!("failed to derive password: {e}");
    }
    let mut message = MASTER_PASSWORD_SEED.to_vec();
    message.extend_from_slice(&(site.len() as u32).to_be_bytes());
    message.extend_from_slice(site.as_bytes());
    message.extend_from_slice(&counter.to_be_bytes());
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key) else {
        return "failed to derive password: hmac key".into();
    };
    mac.update(&message);
    let seed = mac.finalize().into_bytes();
    let template = templates[usize::from(seed[0]) % templates.len()];
    template
        .bytes()
        .enumerate()
        .map(|(i, c)| {
            let chars = template_chars(c);
            chars[usize::from(seed[i + 1]) % chars.len()] as char
        })
        .collect()
}

/// Go's `bcrypt.DefaultCost` (the Rust crate's default is 12).
pub const GO_BCRYPT_DEFAULT_COST: u32 = 10;

/// sprig's `bcrypt`: Go's `$2a$` form.
pub fn bcrypt_hash(input: &str) -> String {
    match bcrypt::hash_with_result(input, GO_BCRYPT_DEFAULT_COST) {
        Ok(h) => h.format_for_version(bcrypt::Version::TwoA),
        Err(e) => format!("failed to encrypt string with bcrypt: {e}"),
    }
}

pub(crate) fn register(m: &mut FuncMap) {
    use Param::{Any, Int, String as Str};
    let mut add = |name: &str, f: Func| {
        m.insert(name.to_owned(), f);
    };
    add(
        "genPrivateKey",
        Func::new(&[Str], |a| {
            Ok(Value::String(generate_private_key(&s(&a[0]))))
        }),
    );
    add(
        "genCA",
        Func::new(&[Str, Int], |a| {
            let key = rsa_key(2048).map_err(|e| format!("error generating rsa key: {e}"))?;
            gen_ca(&s(&a[0]), int(&a[1]), &key)
        }),
    );
    add(
        "genCAWithKey",
        Func::new(&[Str, Int, Str], |a| {
            let key =
                parse_private_key(&s(&a[2])).map_err(|e| format!("parsing private key: {e}"))?;
            gen_ca(&s(&a[0]), int(&a[1]), &key)
        }),
    );
    add(
        "genSelfSignedCert",
        Func::new(&[Str, Any, Any, Int], |a| {
            let params = base_params(&s(&a[0]), &a[1], &a[2], int(&a[3]))?;
            let key = rsa_key(2048).map_err(|e| format!("error generating rsa key: {e}"))?;
            sign(params, &key, None)
        }),
    );
    add(
        "genSelfSignedCertWithKey",
        Func::new(&[Str, Any, Any, Int, Str], |a| {
            let key =
                parse_private_key(&s(&a[4])).map_err(|e| format!("parsing private key: {e}"))?;
            let params = base_params(&s(&a[0]), &a[1], &a[2], int(&a[3]))?;
            sign(params, &key, None)
        }),
    );
    add(
        "genSignedCert",
        Func::new(&[Str, Any, Any, Int, Any], |a| {
            let key = rsa_key(2048).map_err(|e| format!("error generating rsa key: {e}"))?;
            gen_signed(a, &a[4], &key)
        }),
    );
    add(
        "genSignedCertWithKey",
        Func::new(&[Str, Any, Any, Int, Any, Str], |a| {
            let key =
                parse_private_key(&s(&a[5])).map_err(|e| format!("parsing private key: {e}"))?;
            gen_signed(a, &a[4], &key)
        }),
    );
    add(
        "buildCustomCert",
        Func::new(&[Str, Str], |a| build_custom_cert(&s(&a[0]), &s(&a[1]))),
    );
    add(
        "encryptAES",
        Func::new(&[Str, Str], |a| {
            Ok(Value::String(encrypt_aes(&s(&a[0]), &s(&a[1]))))
        }),
    );
    add(
        "decryptAES",
        Func::new(&[Str, Str], |a| {
            decrypt_aes(&s(&a[0]), &s(&a[1])).map(Value::String)
        }),
    );
    add(
        "derivePassword",
        Func::new(&[Int, Str, Str, Str, Str], |a| {
            Ok(Value::String(derive_password(
                int(&a[0]) as u32,
                &s(&a[1]),
                &s(&a[2]),
                &s(&a[3]),
                &s(&a[4]),
            )))
        }),
    );
    add(
        "bcrypt",
        Func::new(&[Str], |a| Ok(Value::String(bcrypt_hash(&s(&a[0]))))),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aes_round_trips_and_strips_padding_as_sprig() {
        let enc = encrypt_aes("secret", "hello world");
        assert_eq!(decrypt_aes("secret", &enc).as_deref(), Ok("hello world"));
        // 16-byte IV plus one block.
        assert_eq!(B64.decode(&enc).map(|b| b.len()).unwrap_or(0), 32);
        assert_eq!(encrypt_aes("k", ""), "");
        assert!(decrypt_aes("k", "AAAA").is_err());
    }

    #[test]
    fn pem_blocks_wrap_at_64_columns() {
        let pem = pem_block("X", &[7u8; 100]);
        assert!(pem.lines().all(|l| l.len() <= 64));
        assert_eq!(
            pem_decode(&pem).map(|(l, d)| (l, d.len())),
            Some(("X".into(), 100))
        );
    }
}
