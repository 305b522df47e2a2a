"""The carrier: the Telephony port, its errors, the Twilio adapter and the route paths."""
