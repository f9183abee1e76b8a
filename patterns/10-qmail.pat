# 10-qmail.pat - qmail, netqmail, notqmail and the qmail-ldap/vpopmail
# variants: a plain-text bounce starting "Hi. This is the qmail-send
# program at ...", one "<address>:" paragraph per failed recipient,
# then "--- Below this line is a copy of the message.".
signature ^Hi\. This is the qmail-send program
signature ^This is the qmail-send program
signature ^I'm afraid I wasn't able to deliver your message to the following addresses
signature ^I tried to deliver a bounce message to this address, but the bounce bounced
delayed body ^This is a warning message from the qmail|^Sorry, it looks like this message has been in the queue for \S+ days?\.\s*\n[^\n]*will keep trying
recipient ^<([^\s<>@]+@[^\s<>]+)>:
original ^--- Below this line is a copy of the message
original ^--- Enclosed are the original headers of the message
original ^--- Below this line is the original bounce
