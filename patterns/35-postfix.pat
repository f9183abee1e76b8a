# 35-postfix.pat - Postfix bounces without a delivery-status part (old
# versions, or a delivery-status part stripped on the way): "This is the
# mail system at host ..." then "<addr>: host ... said: 550 ..." (the
# "<addr>:" recipient rule is in 90-generic.pat).
signature ^This is the (?:mail system|Postfix program) at host
bounce subject ^(?:Undelivered Mail Returned to Sender|Delayed Mail \(still being retried\)|Postfix SMTP server: errors from)
delayed subject ^Delayed Mail \(still being retried\)
