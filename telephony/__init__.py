"""The carrier: the Telephony port, its errors, the Twilio adapter, the route paths and the
E.164 normaliser for numbers people type."""
