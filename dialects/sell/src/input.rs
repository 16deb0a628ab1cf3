//! Sell bodies: the `data` object of a request, read field by field with the kit's reader
//! (integer ids), collecting every problem into one 422.

use crate::wire::SellWire;

pub type Data = kith_http::Fields<SellWire>;
