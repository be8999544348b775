//! A certificate authority and certificates made for one test with the `openssl` command line: what the secured servers present.
//!
//! Server certificates name `localhost` only (no IP address), so a client that connects to
//! `localhost` verifies the host name and one that connects to `127.0.0.1` meets a wrong host
//! name: both cases of a real team server, from one certificate.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context as _};

use super::ensure_debian_packages;
use crate::process::ScratchDir;

/// The host name every server certificate made here names.
pub const CERT_HOST: &str = "localhost";

/// A CA's certificate and key, and a folder to write the certificates it signs into.
pub struct TestCa {
    dir: ScratchDir,
}

/// A certificate and its private key, PEM files.
#[derive(Clone, Debug)]
pub struct CertPair {
    /// The certificate.
    pub cert: PathBuf,
    /// The private key (PKCS#8, unencrypted).
    pub key: PathBuf,
}

impl TestCa {
    /// Makes a new CA (EC P-256, valid two days) called `name`.
    pub fn generate(name: &str) -> anyhow::Result<Self> {
        ensure_debian_packages(&[("openssl", "openssl")])?;
        let ca = Self {
            dir: ScratchDir::new("pt-ca-")?,
        };
        openssl(
            ca.dir.path(),
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                &format!("/CN={name}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        )?;
        Ok(ca)
    }

    /// Returns the CA certificate (what clients are given as `sslrootcert` / CA file).
    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Returns the folder holding the CA's files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Signs a server certificate for [`CERT_HOST`], written as `<file>.pem` and `<file>.key`.
    pub fn server_cert(&self, file: &str) -> anyhow::Result<CertPair> {
        self.sign(
            file,
            CERT_HOST,
            "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n",
        )
    }

    /// Signs a client certificate whose common name is `user` (PostgreSQL's `cert` authentication).
    pub fn client_cert(&self, file: &str, user: &str) -> anyhow::Result<CertPair> {
        self.sign(file, user, "extendedKeyUsage=clientAuth\n")
    }

    fn sign(&self, file: &str, common_name: &str, extensions: &str) -> anyhow::Result<CertPair> {
        let dir = self.dir.path();
        let ext = dir.join(format!("{file}.ext"));
        std::fs::write(
            &ext,
            format!("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n{extensions}"),
        )
        .with_context(|| format!("writing {}", ext.display()))?;
        let (key, csr, cert) = (
            format!("{file}.key"),
            format!("{file}.csr"),
            format!("{file}.pem"),
        );
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &csr,
                "-subj",
                &format!("/CN={common_name}"),
            ],
        )?;
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &cert,
                "-days",
                "2",
                "-extfile",
                &format!("{file}.ext"),
            ],
        )?;
        Ok(CertPair {
            cert: dir.join(cert),
            key: dir.join(key),
        })
    }
}

fn openssl(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .context("running openssl (package openssl)")?;
    if !out.status.success() {
        bail!(
            "openssl {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
