//! Outgoing e-mail: the error file of an import, sent to the user who uploaded it, over SMTP.

use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::Crm;
use crate::actor::Actor;
use crate::model::User;

/// Why a message could not be sent.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MailError(String);

/// An SMTP server to send through, and the sender's address.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// `url`: `smtp://[user:password@]host[:port]` (plain, or `?tls=required` for STARTTLS) or
    /// `smtps://…` (TLS from the start), as lettre reads it; `from`: the sender's address.
    pub fn new(url: &str, from: &str) -> Result<Mailer, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError(format!("the SMTP URL {url:?} is not usable: {e}")))?
            .build();
        let from = from.parse().map_err(|e| MailError(format!("the sender address {from:?} is not usable: {e}")))?;
        Ok(Mailer { transport, from })
    }
}

impl Crm {
    /// Sends outgoing mail through `mailer` (without one, nothing is mailed).
    pub fn with_mailer(mut self, mailer: Mailer) -> Self {
        self.mailer = Some(std::sync::Arc::new(mailer));
        self
    }

    /// Whether mail can be sent.
    pub fn can_mail(&self) -> bool {
        self.mailer.is_some()
    }

    /// Mails the stored report `file_id` (an import's error file) as an attachment to the user
    /// `actor` is, with `summary` as the text and `link` (where it can be downloaded) after it.
    pub async fn mail_report(
        &self,
        actor: Actor,
        file_id: i64,
        subject: &str,
        summary: &str,
        link: &str,
    ) -> Result<(), MailError> {
        let mailer =
            self.mailer.as_ref().ok_or_else(|| MailError("no SMTP server is configured (--smtp-url)".into()))?;
        let user: User = self.get(actor, actor.user_id).await.map_err(|e| MailError(format!("the uploader: {e}")))?;
        let to: Mailbox =
            user.email.parse().map_err(|e| MailError(format!("the uploader's address {:?}: {e}", user.email)))?;
        let (file, bytes) = self.read_file(actor, file_id).await.map_err(|e| MailError(format!("the report: {e}")))?;
        let content_type = ContentType::parse(&file.content_type).unwrap_or(ContentType::TEXT_PLAIN);
        let text = if link.is_empty() { summary.to_owned() } else { format!("{summary}\n\nThe same file: {link}\n") };
        let message = Message::builder()
            .from(mailer.from.clone())
            .to(to)
            .subject(subject)
            .multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain(text))
                    .singlepart(Attachment::new(file.filename.clone()).body(bytes, content_type)),
            )
            .map_err(|e| MailError(format!("the message: {e}")))?;
        mailer.transport.send(message).await.map_err(|e| MailError(format!("SMTP: {e}")))?;
        Ok(())
    }

    /// `mail_report` on a task of its own: the caller's answer does not wait for the mail
    /// server; the outcome is logged.
    pub fn mail_report_in_background(
        &self,
        actor: Actor,
        file_id: i64,
        subject: String,
        summary: String,
        link: String,
    ) {
        let crm = self.clone();
        tokio::spawn(async move {
            match crm.mail_report(actor, file_id, &subject, &summary, &link).await {
                Ok(()) => tracing::info!(file_id, "mailed a report"),
                Err(e) => tracing::error!(error = %e, file_id, "a report could not be mailed"),
            }
        });
    }
}
