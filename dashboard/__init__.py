"""The referral dashboard: a Streamlit app over the published serving copy of the marts."""
