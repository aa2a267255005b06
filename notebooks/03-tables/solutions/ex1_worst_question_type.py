def most_errors_type(predictions: pd.DataFrame) -> str:
    errors = (~predictions["correct"]).groupby(predictions["qtype"]).sum()
    return str(errors.idxmax())
