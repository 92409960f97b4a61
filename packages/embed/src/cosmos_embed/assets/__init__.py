"""Data files shipped with cosmos-embed (a package so wheels carry them as package data)."""
