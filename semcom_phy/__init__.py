"""semcom_phy."""
