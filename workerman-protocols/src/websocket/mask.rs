//! Payload masking (RFC 6455 5.3): `byte[i] ^= key[i % 4]`, eight bytes at
//! a time.

/// XORs `buf` with the 4-byte masking `key`, starting at key offset 0.
/// Masking and unmasking are the same operation.
pub(crate) fn apply_mask(buf: &mut [u8], key: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        // Always 8 bytes: chunks_exact guarantees it.
        if let Ok(bytes) = <[u8; 8]>::try_from(&*chunk) {
            chunk.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ wide).to_ne_bytes());
        }
    }
    // The chunks covered a multiple of 8 bytes, so the key offset is 0 again.
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
}

#[cfg(test)]
mod tests {
    use super::apply_mask;

    fn naive(buf: &mut [u8], key: [u8; 4]) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[i % 4];
        }
    }

    #[test]
    fn matches_the_definition_at_every_length() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        for len in 0..40 {
            let data: Vec<u8> = (0..len as u8).collect();
            let mut fast = data.clone();
            let mut slow = data.clone();
            apply_mask(&mut fast, key);
            naive(&mut slow, key);
            assert_eq!(fast, slow, "length {len}");
            apply_mask(&mut fast, key);
            assert_eq!(fast, data);
        }
    }

    #[test]
    fn rfc_example() {
        // RFC 6455 5.7: "Hello" masked with 37 fa 21 3d.
        let mut b = *b"Hello";
        apply_mask(&mut b, [0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(b, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }
}
