# 57-generic-dsn-text.pat - plain-text "Delivery Status Notification"s of
# appliances and gateways that write no delivery-status part:
# "This is an automatically generated Delivery Status Notification." then
# "Delivery to the following recipients failed permanently: * addr".
signature ^[ \t]*This is an automatically generated Delivery Status Notification
