//! Where the bucket is and how to reach it: an `s3://BUCKET[/PREFIX]`
//! root and the settings every S3 tool reads from the environment.

use url::Url;

use crate::S3Error;

/// The bucket and key prefix of an `s3://BUCKET[/PREFIX]` root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The bucket's name.
    pub bucket: String,
    /// The prefix every served key starts with (normalised, without
    /// leading or trailing `/`; `""` for the whole bucket).
    pub prefix: String,
}

impl Location {
    /// Parses `s3://BUCKET[/PREFIX]`; `None` when `root` is not an `s3://`
    /// location at all (a local directory).
    pub fn parse(root: &str) -> Option<Result<Location, S3Error>> {
        let rest = root.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Some(Err(S3Error::BadLocation(format!("{root}: no bucket name"))));
        }
        let prefix = match ferry_storage::RelativePath::parse(prefix) {
            Ok(path) => path.as_str().to_owned(),
            Err(ferry_storage::PathError::Empty) => String::new(),
            Err(err) => return Some(Err(S3Error::BadLocation(format!("{root}: {err}")))),
        };
        Some(Ok(Location {
            bucket: bucket.to_owned(),
            prefix,
        }))
    }

    /// `""` or `PREFIX/`.
    pub(crate) fn key_prefix(&self) -> String {
        if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        }
    }
}

/// Endpoint, region and keys.
#[derive(Debug, Clone)]
pub struct S3Config {
    /// The S3 endpoint, addressed path-style (`ENDPOINT/BUCKET/KEY`).
    pub endpoint: Url,
    /// The region requests are signed for.
    pub region: String,
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_key: String,
}

impl S3Config {
    /// From `AWS_ENDPOINT_URL` (or `endpoint`, which wins: `--s3-endpoint`),
    /// `AWS_REGION` (default `us-east-1`), `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY`.
    pub fn from_env(endpoint: Option<&str>) -> Result<S3Config, S3Error> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let endpoint = endpoint
            .map(str::to_owned)
            .or_else(|| var("AWS_ENDPOINT_URL"))
            .ok_or(S3Error::NoEndpoint)?;
        let endpoint = Url::parse(&endpoint)
            .map_err(|err| S3Error::BadLocation(format!("endpoint {endpoint}: {err}")))?;
        let (Some(access_key), Some(secret_key)) =
            (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY"))
        else {
            return Err(S3Error::NoCredentials);
        };
        Ok(S3Config {
            endpoint,
            region: var("AWS_REGION")
                .or_else(|| var("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".to_owned()),
            access_key,
            secret_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_to_bucket_and_clean_prefix() {
        let at = |root| Location::parse(root).map(|r| r.map_err(|e| e.to_string()));
        assert_eq!(at("/srv/ftp"), None);
        assert_eq!(
            at("s3://images"),
            Some(Ok(Location {
                bucket: "images".into(),
                prefix: "".into()
            }))
        );
        assert_eq!(
            at("s3://images//pxe/./boot/"),
            Some(Ok(Location {
                bucket: "images".into(),
                prefix: "pxe/boot".into()
            }))
        );
        assert!(matches!(at("s3://"), Some(Err(_))));
        assert!(matches!(at("s3://b/../x"), Some(Err(_))));
    }
}
