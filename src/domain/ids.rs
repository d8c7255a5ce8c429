//! Server-generated identifiers in the original's formats: `<prefix>_<epoch ms>_<base36>`.

use rand::Rng;

const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

pub fn generate(prefix: &str, now_ms: i64) -> String {
    let mut rng = rand::thread_rng();
    let suffix: String = (0..9).map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())])).collect();
    format!("{prefix}_{now_ms}_{suffix}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_have_the_original_shape() {
        let id = super::generate("todo", 1_771_264_631_109);
        let parts: Vec<&str> = id.split('_').collect();
        assert_eq!(parts[0], "todo");
        assert_eq!(parts[1], "1771264631109");
        assert_eq!(parts[2].len(), 9);
        assert!(parts[2].bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()));
        assert_ne!(super::generate("todo", 1), super::generate("todo", 1));
    }
}
