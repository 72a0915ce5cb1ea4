"""Parts of screens that pages share or delegate to (Streamlit widgets; every action is one core call).

They live outside ``pages/`` so Streamlit never lists them as pages of their own.
"""
