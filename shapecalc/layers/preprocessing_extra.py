"""(family module; being written this session)"""
