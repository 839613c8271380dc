//! The on-disk cache of compiled modules, keyed by content hash, so that a
//! restart does not recompile.
//!
//! An entry is `<sha256 of the .wasm>-<engine hash>.cwasm` (wasmtime's
//! serialized module) plus `<same>.sha256` (the SHA-256 of the artifact).
//! The engine hash covers wasmtime's version and every compilation setting,
//! so a changed configuration misses instead of loading incompatible code.
//! Entries are written to a temporary name and renamed, so a crash never
//! leaves a half-written artifact under a valid name; an artifact whose
//! checksum does not match is ignored and rebuilt.

use std::hash::{Hash, Hasher};
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::{Engine, Module};

/// A cache directory for one engine configuration.
pub(crate) struct ModuleCache {
    dir: PathBuf,
    engine_hash: u64,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl ModuleCache {
    /// Creates `dir` if needed.
    pub fn open(dir: &Path, engine: &Engine) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut h = std::hash::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        Ok(ModuleCache {
            dir: dir.to_path_buf(),
            engine_hash: h.finish(),
        })
    }

    /// Where the artifact for `wasm` lives.
    pub fn artifact_path(&self, wasm: &[u8]) -> PathBuf {
        let digest = Sha256::digest(wasm);
        self.dir
            .join(format!("{}-{:016x}.cwasm", hex(&digest), self.engine_hash))
    }

    /// The cached module for `wasm`, if a valid one is stored.
    pub fn load(&self, engine: &Engine, wasm: &[u8]) -> Option<Module> {
        let path = self.artifact_path(wasm);
        let artifact = std::fs::read(&path).ok()?;
        let expected = std::fs::read_to_string(path.with_extension("sha256")).ok()?;
        if hex(&Sha256::digest(&artifact)) != expected.trim() {
            tracing::warn!(path = %path.display(), "compiled-module cache entry fails its checksum; recompiling");
            return None;
        }
        // SAFETY: `Module::deserialize` trusts its input to be an artifact
        // this version of wasmtime produced. This one was written by
        // `store` below (wasmtime's own `Module::serialize`) into our cache
        // directory, under a name that includes the engine's compatibility
        // hash, and its bytes match the checksum written beside it, so it is
        // exactly what we serialized. wasmtime also checks the header and
        // engine settings itself and returns an error on mismatch.
        match unsafe { Module::deserialize(engine, &artifact) } {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot load cached module; recompiling");
                None
            }
        }
    }

    /// Stores `module`, compiled from `wasm`. Failures are logged and ignored:
    /// the cache only saves time.
    pub fn store(&self, wasm: &[u8], module: &Module) {
        if let Err(e) = self.try_store(wasm, module) {
            tracing::warn!(dir = %self.dir.display(), error = %e, "cannot write compiled-module cache entry");
        }
    }

    fn try_store(&self, wasm: &[u8], module: &Module) -> anyhow::Result<()> {
        let artifact = module.serialize().map_err(|e| anyhow::anyhow!("{e}"))?;
        let path = self.artifact_path(wasm);
        let unique = format!(
            "tmp.{}.{:?}",
            std::process::id(),
            std::thread::current().id()
        );
        let tmp = path.with_extension(&unique);
        let tmp_sum = path.with_extension(format!("{unique}.sum"));
        std::fs::write(&tmp, &artifact)?;
        std::fs::write(&tmp_sum, hex(&Sha256::digest(&artifact)))?;
        // Checksum first: a reader that sees the new artifact also sees its sum.
        std::fs::rename(&tmp_sum, path.with_extension("sha256"))?;
        std::fs::rename(&tmp, &path)?;
        Ok(())
    }
}
