//! `POST /admin/{opportunities,contacts,salestargets}/upload`: CSV upserts (multipart field
//! `file`, at most 20 MB; `send_error_email=true|false`), and the error file each leaves.
//!
//! Rows are read here (the wire: columns, quoting, amounts, dates); what a row means and whether
//! it is accepted is the domain's (`kith_domain::imports`). A row refused either way is written
//! to the error file, as it was sent plus an `error` column with the reason.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kith_domain::files::Upload;
use kith_domain::imports::{ContactRow, OpportunityRow, RowOutcomes, TargetRow};
use kith_domain::{Actor, Crm};
use kith_http::AppState;
use serde_json::json;

use crate::auth::{Admin, Caller};
use crate::csv_file::{Columns, parse_amount, parse_date, parse_month, reader};
use crate::wire::{ApiError, ApiResult, parse_uuid_id, uuid_id};

/// The largest file an upload takes.
pub const MAX_UPLOAD_BYTES: usize = 20 * 1024 * 1024;
/// What stored error files are marked as.
const ERROR_FILE_PURPOSE: &str = "import_errors";

/// What a file imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Import {
    Opportunities,
    Contacts,
    Targets,
}

impl Import {
    /// `opportunities`, `contacts` or `targets` (`salestargets`), as `kith import` names them.
    pub fn parse(name: &str) -> Option<Import> {
        match name.trim().to_ascii_lowercase().as_str() {
            "opportunities" => Some(Import::Opportunities),
            "contacts" => Some(Import::Contacts),
            "targets" | "salestargets" | "sales_targets" => Some(Import::Targets),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Import::Opportunities => "opportunities",
            Import::Contacts => "contacts",
            Import::Targets => "salestargets",
        }
    }

    /// Each field's column names (normalised, see `csv_file::normalize_header`): the seed's label
    /// first, then the forms the vendor's own uploader writes.
    fn columns(self) -> &'static [(&'static str, &'static [&'static str])] {
        match self {
            Import::Opportunities => &[
                ("opp_id", &["opportunityid", "oppid", "externaloppid", "externalopportunityid"]),
                ("opp_name", &["opportunityname", "oppname", "name"]),
                ("amount", &["amount"]),
                ("close_date", &["closedate"]),
                ("stage", &["stage"]),
                ("owner", &["opportunityowner", "owner", "ownername"]),
                ("owner_email", &["opportunityowneremail", "owneremail"]),
                ("account_id", &["accountid", "externalaccountid"]),
                ("account_name", &["accountname", "account"]),
                ("website", &["accounturlwebsite", "accounturl", "accountwebsite", "website"]),
                ("type", &["opportunitytype", "opptype", "type"]),
                ("next_step", &["nextstep"]),
                ("forecast", &["forecast"]),
            ],
            Import::Contacts => &[
                ("opp_id", &["opportunityid", "oppid", "externaloppid"]),
                ("email", &["email", "emailaddress"]),
                ("fullname", &["fullname", "name"]),
                ("first_name", &["firstname"]),
                ("last_name", &["lastname"]),
                ("title", &["title", "jobtitle"]),
                ("company_name", &["companyname", "company"]),
                ("phone", &["phone"]),
                ("mobile_phone", &["mobilephone", "mobile"]),
            ],
            Import::Targets => &[
                ("email", &["emailaddressofsalesrep", "salesrepemail", "repemail", "email"]),
                ("month", &["monthdate", "month"]),
                ("amount", &["amount"]),
            ],
        }
    }

    /// The columns a file must have, by the seed's labels.
    fn required(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Import::Opportunities => &[("opp_id", "Opportunity ID"), ("opp_name", "Opportunity Name")],
            Import::Contacts => &[("email", "Email")],
            Import::Targets => {
                &[("email", "Email Address of Salesrep"), ("month", "Month (date)"), ("amount", "Amount")]
            }
        }
    }
}

/// Rows read from a file, each with its number among the file's rows.
type Rows<R> = Vec<(usize, R)>;
/// Per file row: where it starts in the file, and why it was refused, if it was.
type Lines = Vec<(u64, Option<String>)>;

/// The rows read so far, a chunk at a time.
struct RowReader<'a> {
    rdr: csv::Reader<&'a [u8]>,
    columns: Columns,
    header: csv::StringRecord,
    record: csv::StringRecord,
    lines: Lines,
}

impl<'a> RowReader<'a> {
    /// Reads the header line; a file without one, or without a required column, is a `fail`.
    fn open(bytes: &'a [u8], import: Import) -> ApiResult<RowReader<'a>> {
        let mut rdr = reader(bytes);
        let header =
            rdr.headers().map_err(|e| ApiError::fail("file", format!("is not a readable CSV file: {e}")))?.clone();
        let columns = Columns::match_header(&header, import.columns());
        let missing: Vec<&str> =
            import.required().iter().filter(|(f, _)| !columns.has(f)).map(|(_, label)| *label).collect();
        if !missing.is_empty() {
            return Err(ApiError::fail("file", format!("the header line has no {} column", missing.join(", no "))));
        }
        Ok(RowReader { rdr, columns, header, record: csv::StringRecord::new(), lines: Vec::new() })
    }

    /// The next (at most) `n` rows that could be read; the reasons of those that could not are
    /// kept in `lines`. Empty at the end of the file.
    fn chunk<R>(&mut self, n: usize, row: impl Fn(&Columns, &csv::StringRecord) -> Result<R, String>) -> Rows<R> {
        let mut rows = Vec::new();
        while rows.len() < n {
            let start = self.rdr.position().byte();
            match self.rdr.read_record(&mut self.record) {
                Ok(false) => break,
                Ok(true) if self.record.iter().all(|f| f.trim().is_empty()) => continue,
                Ok(true) => match row(&self.columns, &self.record) {
                    Ok(r) => {
                        rows.push((self.lines.len(), r));
                        self.lines.push((start, None));
                    }
                    Err(reason) => self.lines.push((start, Some(reason))),
                },
                Err(e) => self.lines.push((start, Some(format!("the row could not be read: {e}")))),
            }
        }
        rows
    }

    /// Puts the domain's refusals beside the reader's.
    fn outcomes(&mut self, numbers: Vec<usize>, outcomes: RowOutcomes) {
        for (n, outcome) in numbers.into_iter().zip(outcomes) {
            if let Some(reason) = outcome
                && let Some(line) = self.lines.get_mut(n)
            {
                line.1 = Some(reason);
            }
        }
    }
}

/// Rows of an opportunities file given to the import at a time: the file's rows are never all
/// in memory at once beside it.
const CHUNK_ROWS: usize = 5_000;

fn opportunity(c: &Columns, r: &csv::StringRecord) -> Result<OpportunityRow, String> {
    Ok(OpportunityRow {
        external_id: c.get(r, "opp_id").unwrap_or_default(),
        name: c.get(r, "opp_name").unwrap_or_default(),
        amount_minor: c.get(r, "amount").map(|a| parse_amount(&a)).transpose()?,
        close_date: c.get(r, "close_date").map(|d| parse_date(&d)).transpose()?,
        stage: c.get(r, "stage"),
        owner_name: c.get(r, "owner"),
        owner_email: c.get(r, "owner_email"),
        account_external_id: c.get(r, "account_id"),
        account_name: c.get(r, "account_name"),
        account_website: c.get(r, "website"),
        deal_type: c.get(r, "type"),
        next_step: c.get(r, "next_step"),
        forecast: c.get(r, "forecast"),
    })
}

fn contact(c: &Columns, r: &csv::StringRecord) -> Result<ContactRow, String> {
    Ok(ContactRow {
        opportunity_external_id: c.get(r, "opp_id"),
        email: c.get(r, "email").ok_or("email can't be blank")?,
        full_name: c.get(r, "fullname"),
        first_name: c.get(r, "first_name"),
        last_name: c.get(r, "last_name"),
        title: c.get(r, "title"),
        company_name: c.get(r, "company_name"),
        phone: c.get(r, "phone"),
        mobile_phone: c.get(r, "mobile_phone"),
    })
}

fn target(c: &Columns, r: &csv::StringRecord) -> Result<TargetRow, String> {
    Ok(TargetRow {
        rep_email: c.get(r, "email").ok_or("the sales rep's email can't be blank")?,
        month: parse_month(&c.get(r, "month").ok_or("month can't be blank")?)?,
        amount_minor: parse_amount(&c.get(r, "amount").ok_or("amount can't be blank")?)?,
    })
}

/// Reads every row of a file and runs the domain's import on them (the smaller imports).
async fn import_all<R>(
    file: &mut RowReader<'_>,
    row: impl Fn(&Columns, &csv::StringRecord) -> Result<R, String>,
    run: impl AsyncFnOnce(Vec<R>) -> kith_domain::Result<RowOutcomes>,
) -> ApiResult<()> {
    let (numbers, rows): (Vec<usize>, Vec<R>) = file.chunk(usize::MAX, row).into_iter().unzip();
    let outcomes = run(rows).await?;
    file.outcomes(numbers, outcomes);
    Ok(())
}

/// Imports an opportunities file a chunk at a time, in one import (one transaction).
async fn import_opportunities(crm: &Crm, actor: Actor, file: &mut RowReader<'_>) -> ApiResult<()> {
    let mut import = crm.begin_opportunity_import(actor).await?;
    loop {
        let (numbers, rows): (Vec<usize>, Vec<OpportunityRow>) =
            file.chunk(CHUNK_ROWS, opportunity).into_iter().unzip();
        if rows.is_empty() {
            break;
        }
        let outcomes = import.add(&rows).await?;
        file.outcomes(numbers, outcomes);
    }
    import.commit().await?;
    Ok(())
}

/// The refused rows as sent, each with its reason in a last `error` column.
fn error_csv(bytes: &[u8], header: &csv::StringRecord, lines: &[(u64, Option<String>)]) -> Result<Vec<u8>, csv::Error> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut head = header.clone();
    head.push_field("error");
    out.write_record(&head)?;
    let mut record = csv::StringRecord::new();
    for (start, reason) in lines {
        let Some(reason) = reason else { continue };
        let from = usize::try_from(*start).unwrap_or(usize::MAX).min(body.len());
        let mut one = csv::ReaderBuilder::new().flexible(true).has_headers(false).from_reader(&body[from..]);
        let mut fields: Vec<String> = match one.read_record(&mut record) {
            Ok(true) => record.iter().map(str::to_owned).collect(),
            _ => Vec::new(),
        };
        fields.resize(header.len(), String::new());
        fields.push(reason.clone());
        out.write_record(&fields)?;
    }
    out.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// `send_error_email`: `true` or `false`, in the query or the form.
fn send_error_email(query: Option<&str>, form: &kith_http::multipart::Form) -> ApiResult<bool> {
    let pairs = kith_http::query_pairs(query);
    let raw = pairs.iter().rev().find(|(k, _)| k == "send_error_email").map(|(_, v)| v.clone());
    match raw.or_else(|| form.fields.get("send_error_email").cloned()).as_deref().map(str::trim) {
        None | Some("") => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") || v == "1" => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") || v == "0" => Ok(false),
        Some(_) => Err(ApiError::fail("send_error_email", "must be true or false")),
    }
}

/// What an import did, as the upload's answer gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    pub original_rows: usize,
    pub imported_rows: usize,
    pub error_rows: usize,
    /// Where the refused rows can be downloaded; empty when there are none.
    pub error_file: String,
    /// The stored error file, when there is one.
    pub error_file_id: Option<i64>,
}

/// Imports a CSV file's bytes: what an upload does with its file, and `kith import` with a file
/// on disk. A file that cannot be imported at all (no readable header, a required column
/// missing) is a `fail` naming `file`.
pub async fn import_file(crm: &Crm, actor: Actor, import: Import, bytes: &[u8]) -> ApiResult<Totals> {
    let mut file = RowReader::open(bytes, import)?;
    match import {
        Import::Opportunities => import_opportunities(crm, actor, &mut file).await?,
        Import::Contacts => {
            import_all(&mut file, contact, async |rows| crm.import_contacts(actor, &rows).await).await?
        }
        Import::Targets => import_all(&mut file, target, async |rows| crm.import_targets(actor, &rows).await).await?,
    }
    let RowReader { lines, header, .. } = file;
    let original_rows = lines.len();
    let error_rows = lines.iter().filter(|(_, r)| r.is_some()).count();
    let (error_file, error_file_id) = if error_rows == 0 {
        (String::new(), None)
    } else {
        store_errors(crm, actor, import, bytes, &header, &lines).await
    };
    Ok(Totals { original_rows, imported_rows: original_rows - error_rows, error_rows, error_file, error_file_id })
}

pub async fn upload(
    st: AppState,
    actor: Actor,
    import: Import,
    query: Option<String>,
    form: Multipart,
) -> ApiResult<Response> {
    let form = kith_http::multipart::read_form::<ApiError>(form, "file", MAX_UPLOAD_BYTES).await?;
    let email = send_error_email(query.as_deref(), &form)?;
    let Some(file) = form.file else {
        return Err(ApiError::fail("file", "is required (a multipart field named file)"));
    };
    let totals = import_file(&st.crm, actor, import, &file.bytes).await?;
    let errors = totals.error_rows;
    if email && let Some(file_id) = totals.error_file_id {
        mail_errors(&st, actor, import, file_id, errors, totals.original_rows, &totals.error_file);
    }
    let totals = json!({
        "total_imported_rows": totals.imported_rows,
        "total_error_rows": totals.error_rows,
        "error_file": totals.error_file,
        "total_original_rows": totals.original_rows,
    });
    // The seed shows the four totals bare; JSend clients read `data`: both are there.
    let mut body = totals.clone();
    body["status"] = json!("success");
    body["data"] = totals;
    Ok((StatusCode::OK, axum::Json(body)).into_response())
}

/// Mails the error file to the uploader in the background: the upload's answer does not wait
/// for the mail server, and a mail that cannot be sent is logged (the file stays at its URL).
fn mail_errors(st: &AppState, actor: Actor, import: Import, file_id: i64, errors: usize, rows: usize, url: &str) {
    if !st.crm.can_mail() {
        tracing::warn!(
            errors,
            "send_error_email=true, but no SMTP server is configured (--smtp-url); the error file is at its URL"
        );
        return;
    }
    let subject = format!("{errors} of {rows} rows of your {} upload were not imported", import.name());
    let summary = format!(
        "{errors} of the {rows} rows of the {} file you uploaded were not imported. The attached file holds each of them with the reason.",
        import.name()
    );
    st.crm.mail_report_in_background(actor, file_id, subject, summary, url.to_owned());
}

/// Stores the error file and gives its URL; an upload whose rows are in does not fail because
/// its report could not be kept (the URL is then empty, and the server logs why).
async fn store_errors(
    crm: &Crm,
    actor: Actor,
    import: Import,
    bytes: &[u8],
    header: &csv::StringRecord,
    lines: &[(u64, Option<String>)],
) -> (String, Option<i64>) {
    let report = match error_csv(bytes, header, lines) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "the import's error file could not be written");
            return (String::new(), None);
        }
    };
    let upload =
        Upload { filename: format!("{}-errors.csv", import.name()), content_type: "text/csv".into(), bytes: report };
    match crm.store_report(actor, upload, ERROR_FILE_PURPOSE).await {
        Ok(f) => {
            (crm.file_url(f.id, |id| format!("{}/admin/uploads/{}/errors.csv", crate::MOUNT, uuid_id(id))), Some(f.id))
        }
        Err(e) => {
            tracing::error!(error = %e, "the import's error file could not be stored");
            (String::new(), None)
        }
    }
}

macro_rules! upload_route {
    ($name:ident, $import:expr) => {
        pub async fn $name(
            State(st): State<AppState>,
            Admin(actor): Admin,
            RawQuery(q): RawQuery,
            form: Result<Multipart, MultipartRejection>,
        ) -> ApiResult<Response> {
            let form = form.map_err(|e| {
                ApiError::fail("file", format!("must come in a multipart/form-data body: {}", e.body_text()))
            })?;
            upload(st, actor, $import, q, form).await
        }
    };
}
upload_route!(opportunities, Import::Opportunities);
upload_route!(contacts, Import::Contacts);
upload_route!(targets, Import::Targets);

/// `GET /admin/uploads/{id}/errors.csv`: an upload's error file, for its account.
pub async fn error_file(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let not_found = || kith_http::WireError::not_found("error file");
    let id = parse_uuid_id(&id).ok_or_else(not_found)?;
    let (file, bytes) = st.crm.read_file(actor, id).await?;
    if file.purpose != ERROR_FILE_PURPOSE {
        return Err(not_found());
    }
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", file.filename)) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}
