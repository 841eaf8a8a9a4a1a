//! Access to memory the host can write: volatile copies and a bounds-checked byte view.
//!
//! The host may write shared pages at any time, so the guest never forms a `&[u8]` or
//! `&mut [u8]` over them (a reference would promise the compiler that the bytes do not change).
//! Every byte goes through a raw pointer with a volatile load or store; words are moved 8 bytes
//! at a time where the address allows. A value the guest needs more than once (a packet
//! descriptor, an index) is copied out once and only the copy is checked and used, so the host
//! cannot change it between the check and the use.

use core::marker::PhantomData;

use zerocopy::{FromBytes, IntoBytes};

const WORD: usize = size_of::<u64>();

/// Copies `dst.len()` bytes from `src` with volatile loads.
///
/// # Safety
///
/// `src .. src + dst.len()` must be valid for reads. Other parties may write the bytes only
/// through raw pointers (never through Rust references), or in a way ordered before this call.
pub(crate) unsafe fn copy_from_shared(src: *const u8, dst: &mut [u8]) {
    let head = src.addr().wrapping_neg() % WORD;
    let (bytes, rest) = dst.split_at_mut(head.min(dst.len()));
    for (i, b) in bytes.iter_mut().enumerate() {
        // SAFETY: `i < dst.len()`, in the range the caller vouches for.
        *b = unsafe { src.wrapping_add(i).read_volatile() };
    }
    let src = src.wrapping_add(bytes.len());
    let whole = rest.len() - rest.len() % WORD;
    let mut words = rest.chunks_exact_mut(WORD);
    for (i, chunk) in words.by_ref().enumerate() {
        // SAFETY: `src` is 8-aligned here (`head` bytes were copied above) and word `i` lies
        // inside the caller's range because the chunk does.
        let word = unsafe { src.cast::<u64>().wrapping_add(i).read_volatile() };
        chunk.copy_from_slice(&word.to_ne_bytes());
    }
    let tail = words.into_remainder();
    let src = src.wrapping_add(whole);
    for (i, b) in tail.iter_mut().enumerate() {
        // SAFETY: the last `tail.len()` bytes of the caller's range.
        *b = unsafe { src.wrapping_add(i).read_volatile() };
    }
}

/// Copies `src` to `dst` with volatile stores.
///
/// # Safety
///
/// `dst .. dst + src.len()` must be valid for writes, and no Rust reference to those bytes may
/// be live.
pub(crate) unsafe fn copy_to_shared(dst: *mut u8, src: &[u8]) {
    let head = dst.addr().wrapping_neg() % WORD;
    let (bytes, rest) = src.split_at(head.min(src.len()));
    for (i, &b) in bytes.iter().enumerate() {
        // SAFETY: `i < src.len()`, inside the caller's range.
        unsafe { dst.wrapping_add(i).write_volatile(b) };
    }
    let dst = dst.wrapping_add(bytes.len());
    let mut words = rest.chunks_exact(WORD);
    for (i, chunk) in words.by_ref().enumerate() {
        let mut word = [0; WORD];
        word.copy_from_slice(chunk);
        // SAFETY: `dst` is 8-aligned here and word `i` lies inside the caller's range.
        unsafe {
            dst.cast::<u64>()
                .wrapping_add(i)
                .write_volatile(u64::from_ne_bytes(word));
        };
    }
    let tail = words.remainder();
    let dst = dst.wrapping_add(rest.len() - tail.len());
    for (i, &b) in tail.iter().enumerate() {
        // SAFETY: the last `tail.len()` bytes of the caller's range.
        unsafe { dst.wrapping_add(i).write_volatile(b) };
    }
}

/// Writes `len` zero bytes at `dst` with volatile stores.
///
/// # Safety
///
/// As for [`copy_to_shared`], for `len` bytes.
pub(crate) unsafe fn zero_shared(dst: *mut u8, len: usize) {
    const ZEROS: [u8; 64] = [0; 64];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(ZEROS.len());
        // SAFETY: `done + n <= len`, inside the caller's range.
        unsafe { copy_to_shared(dst.wrapping_add(done), &ZEROS[..n]) };
        done += n;
    }
}

/// A byte range of a received packet: either still in the shared ring (zero-copy) or in the
/// caller's scratch buffer (when the packet wrapped around the end of the ring).
///
/// Every read is bounds-checked against the length fixed when the view was made; reads from
/// the ring are volatile copies. Two reads of the same shared bytes can differ if the host
/// writes them in between (a misbehaving host can do that); copy the bytes out once with
/// [`SharedBytes::read`] when consistency matters.
#[derive(Clone, Copy)]
pub struct SharedBytes<'r> {
    repr: Repr<'r>,
}

#[derive(Clone, Copy)]
enum Repr<'r> {
    /// `len` bytes at `ptr` in shared memory, valid for reads for `'r`.
    Shared {
        ptr: *const u8,
        len: usize,
        _borrow: PhantomData<&'r ()>,
    },
    /// A private copy.
    Local(&'r [u8]),
}

impl core::fmt::Debug for SharedBytes<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SharedBytes")
            .field("len", &self.len())
            .field("zero_copy", &self.is_zero_copy())
            .finish()
    }
}

/// A read past the end of a [`SharedBytes`] view.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct OutOfBounds {
    /// Offset of the requested bytes.
    pub offset: usize,
    /// Number of bytes requested.
    pub len: usize,
    /// Length of the view.
    pub available: usize,
}

impl core::fmt::Display for OutOfBounds {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} bytes at offset {} exceed the {}-byte view",
            self.len, self.offset, self.available
        )
    }
}

impl core::error::Error for OutOfBounds {}

impl<'r> SharedBytes<'r> {
    /// A view of `len` shared bytes at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr .. ptr + len` must be valid for volatile reads for `'r`, and no Rust reference to
    /// those bytes may be live during `'r`.
    pub(crate) const unsafe fn shared(ptr: *const u8, len: usize) -> Self {
        Self {
            repr: Repr::Shared {
                ptr,
                len,
                _borrow: PhantomData,
            },
        }
    }

    /// A view of a private buffer.
    #[must_use]
    pub const fn local(bytes: &'r [u8]) -> Self {
        Self {
            repr: Repr::Local(bytes),
        }
    }

    /// Length in bytes.
    #[must_use]
    pub const fn len(&self) -> usize {
        match self.repr {
            Repr::Shared { len, .. } => len,
            Repr::Local(bytes) => bytes.len(),
        }
    }

    /// Whether the view is empty.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the bytes are read in place from the ring (no copy was made).
    #[must_use]
    pub const fn is_zero_copy(&self) -> bool {
        matches!(self.repr, Repr::Shared { .. })
    }

    /// The bytes as a slice when they are a private copy (`None` for a zero-copy view of the
    /// ring, which is never exposed as a slice).
    #[must_use]
    pub const fn as_local(&self) -> Option<&'r [u8]> {
        match self.repr {
            Repr::Local(bytes) => Some(bytes),
            Repr::Shared { .. } => None,
        }
    }

    fn check(&self, offset: usize, len: usize) -> Result<(), OutOfBounds> {
        match offset.checked_add(len) {
            Some(end) if end <= self.len() => Ok(()),
            _ => Err(OutOfBounds {
                offset,
                len,
                available: self.len(),
            }),
        }
    }

    /// The sub-view `offset .. offset + len`.
    ///
    /// # Errors
    ///
    /// [`OutOfBounds`] when the range does not lie inside the view.
    pub fn slice(&self, offset: usize, len: usize) -> Result<SharedBytes<'r>, OutOfBounds> {
        self.check(offset, len)?;
        Ok(match self.repr {
            // SAFETY: the sub-range lies inside the range `new`'s caller vouched for.
            Repr::Shared { ptr, .. } => unsafe { Self::shared(ptr.wrapping_add(offset), len) },
            Repr::Local(bytes) => Self::local(&bytes[offset..offset + len]),
        })
    }

    /// Copies `dst.len()` bytes starting at `offset` into `dst`.
    ///
    /// # Errors
    ///
    /// [`OutOfBounds`] when the range does not lie inside the view; `dst` is left unchanged.
    pub fn read(&self, offset: usize, dst: &mut [u8]) -> Result<(), OutOfBounds> {
        self.check(offset, dst.len())?;
        match self.repr {
            // SAFETY: the range is inside the view (checked above), which the caller of
            // `shared` vouched is readable for `'r`.
            Repr::Shared { ptr, .. } => unsafe {
                copy_from_shared(ptr.wrapping_add(offset), dst);
            },
            Repr::Local(bytes) => dst.copy_from_slice(&bytes[offset..offset + dst.len()]),
        }
        Ok(())
    }

    /// Copies the whole view into the start of `dst` and returns the number of bytes copied.
    ///
    /// # Errors
    ///
    /// [`OutOfBounds`] when `dst` is shorter than the view.
    pub fn copy_to(&self, dst: &mut [u8]) -> Result<usize, OutOfBounds> {
        let len = self.len();
        let Some(dst) = dst.get_mut(..len) else {
            return Err(OutOfBounds {
                offset: 0,
                len,
                available: dst.len(),
            });
        };
        self.read(0, dst)?;
        Ok(len)
    }

    /// Reads a `T` at `offset` (a copy; `T` is any plain wire structure).
    ///
    /// # Errors
    ///
    /// [`OutOfBounds`] when `size_of::<T>()` bytes at `offset` do not lie inside the view.
    pub fn read_obj<T: FromBytes + IntoBytes>(&self, offset: usize) -> Result<T, OutOfBounds> {
        let mut value = T::new_zeroed();
        self.read(offset, value.as_mut_bytes())?;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    #[test]
    fn copies_at_every_alignment_and_length() {
        let src: Vec<u8> = (0..64u8).collect();
        for start in 0..9 {
            for len in 0..40 {
                let mut dst = [0xAAu8; 40];
                // SAFETY: `start + len <= 48 < 64`: inside `src`, which is not written.
                unsafe { copy_from_shared(src.as_ptr().wrapping_add(start), &mut dst[..len]) };
                assert_eq!(&dst[..len], &src[start..start + len]);
                assert!(dst[len..].iter().all(|&b| b == 0xAA));

                let mut out = [0x55u8; 64];
                let base = out.as_mut_ptr();
                // SAFETY: inside `out`; no reference to it is live until the next line.
                unsafe { copy_to_shared(base.wrapping_add(start), &src[..len]) };
                assert_eq!(&out[start..start + len], &src[..len]);
                assert!(out[..start].iter().all(|&b| b == 0x55));
                assert!(out[start + len..].iter().all(|&b| b == 0x55));
            }
        }
    }

    #[test]
    fn zeroes_long_ranges() {
        let mut out = [0xFFu8; 200];
        // SAFETY: 190 bytes from offset 3 lie inside `out`.
        unsafe { zero_shared(out.as_mut_ptr().wrapping_add(3), 190) };
        assert!(out[3..193].iter().all(|&b| b == 0));
        assert_eq!(&out[..3], &[0xFF; 3]);
        assert_eq!(&out[193..], &[0xFF; 7]);
    }

    #[test]
    fn view_reads_are_bounds_checked() {
        let bytes: Vec<u8> = (0..32u8).collect();
        let local = SharedBytes::local(&bytes);
        // SAFETY: `bytes` outlives the view and is not written.
        let shared = unsafe { SharedBytes::shared(bytes.as_ptr(), 32) };
        for view in [local, shared] {
            assert_eq!(
                view.read_obj::<u32>(4),
                Ok(u32::from_ne_bytes([4, 5, 6, 7]))
            );
            assert_eq!(
                view.read_obj::<u64>(28),
                Err(OutOfBounds {
                    offset: 28,
                    len: 8,
                    available: 32
                })
            );
            assert!(view.read(usize::MAX, &mut [0; 2]).is_err());
            let sub = view.slice(8, 8).unwrap();
            assert_eq!(sub.read_obj::<u8>(7), Ok(15));
            assert!(sub.read_obj::<u8>(8).is_err());
            assert!(view.slice(30, 3).is_err());
            let mut all = [0u8; 40];
            assert_eq!(view.copy_to(&mut all), Ok(32));
            assert_eq!(&all[..32], &bytes[..]);
            assert!(view.copy_to(&mut [0; 31]).is_err());
        }
        assert!(shared.is_zero_copy() && shared.as_local().is_none());
        assert_eq!(local.as_local(), Some(&bytes[..]));
    }
}
