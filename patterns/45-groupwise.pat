# 45-groupwise.pat - Novell GroupWise: "The message that you sent was
# undeliverable to the following:" then "<tab>addr (user not found)" (the
# address-alone-with-reason rule is in 90-generic.pat).
signature ^The message that you sent was undeliverable to the following
bounce subject ^Message status - undeliverable
