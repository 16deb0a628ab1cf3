//! Contact photos and company logos arrive as base64 images; OnePage crops them to a centred
//! square and scales them to 200×200 pixels. Decoding is bounded, so that a small file that
//! claims huge dimensions cannot exhaust memory.

use std::io::Cursor;

use base64::Engine;
use image::{ImageFormat, ImageReader, Limits};
use kith_domain::files::Upload;

use crate::wire::{ApiError, ApiResult};

/// The side of a stored photo or logo, in pixels.
pub const SIDE: u32 = 200;

/// Decodes `data` (base64, optionally as a `data:image/…;base64,` URI) and returns the square
/// PNG. 400 for text that is not base64, 415 for bytes that are not a PNG, JPEG, GIF or WebP
/// image, 422 for an image that cannot be decoded.
pub fn square_png(data: &str) -> ApiResult<Upload> {
    let b64 = match data.split_once(',') {
        Some((head, rest)) if head.starts_with("data:") => rest,
        _ => data,
    };
    let cleaned: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cleaned.as_bytes())
        .map_err(|_| ApiError::bad_request("image must be base64-encoded image data"))?;
    let format = image::guess_format(&bytes)
        .ok()
        .filter(|f| matches!(f, ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP))
        .ok_or_else(|| ApiError::unsupported_media_type("image must be a PNG, JPEG, GIF or WebP image"))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(12_000);
    limits.max_image_height = Some(12_000);
    limits.max_alloc = Some(256 * 1024 * 1024);
    let mut reader = ImageReader::with_format(Cursor::new(&bytes), format);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| ApiError::unprocessable(format!("image could not be decoded: {e}")))?;
    let side = img.width().min(img.height());
    let (x, y) = ((img.width() - side) / 2, (img.height() - side) / 2);
    let square = img.crop_imm(x, y, side, side).resize_exact(SIDE, SIDE, image::imageops::FilterType::Lanczos3);
    let mut png = Vec::new();
    square
        .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .map_err(|e| ApiError::unprocessable(format!("image could not be encoded: {e}")))?;
    Ok(Upload { filename: "photo.png".into(), content_type: "image/png".into(), bytes: png })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> String {
        let img =
            image::RgbImage::from_fn(
                w,
                h,
                |x, _| if x < w / 2 { image::Rgb([255, 0, 0]) } else { image::Rgb([0, 0, 255]) },
            );
        let mut out = Vec::new();
        image::DynamicImage::ImageRgb8(img)
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap_or_else(|e| panic!("{e}"));
        base64::engine::general_purpose::STANDARD.encode(out)
    }

    #[test]
    fn images_become_200_pixel_squares() {
        for data in [png(640, 480), format!("data:image/png;base64,{}", png(30, 90))] {
            let up = square_png(&data).unwrap_or_else(|e| panic!("{}", e.error_message));
            let img = image::load_from_memory(&up.bytes).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!((img.width(), img.height()), (SIDE, SIDE));
            assert_eq!(up.content_type, "image/png");
        }
    }

    #[test]
    fn bad_images_are_refused_with_the_right_status() {
        assert_eq!(square_png("%%% not base64").err().map(|e| e.status.as_u16()), Some(400));
        let text = base64::engine::general_purpose::STANDARD.encode("just some text");
        assert_eq!(square_png(&text).err().map(|e| e.status.as_u16()), Some(415));
        let mut truncated = base64::engine::general_purpose::STANDARD.decode(png(50, 50)).unwrap_or_default();
        truncated.truncate(40);
        let truncated = base64::engine::general_purpose::STANDARD.encode(truncated);
        assert_eq!(square_png(&truncated).err().map(|e| e.status.as_u16()), Some(422));
    }
}
